"""``pareto.png``: the front in latency / energy, coloured by area; for the report also
``layers.png`` (per-layer energy and cycles of one design), ``roofline.png`` and
``convergence.png`` (matplotlib, Agg backend, imported only when a plot is drawn)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codesign.names import BOTTLENECKS
from codesign.search.checkpoint import atomic_write_bytes

if TYPE_CHECKING:  # pareto imports torch; `codesign report` draws without it
    from codesign.results.pareto import ParetoDesign

__all__ = ["plot_convergence", "plot_layers", "plot_pareto", "plot_roofline"]


def plot_pareto(designs: Sequence[ParetoDesign], path: str | Path, title: str = "") -> None:
    """Scatter latency (s) against energy (J), colour = area (mm2, log scale: fronts span
    decades of area), log axes; atomic write."""
    from matplotlib.colors import LogNorm
    from matplotlib.figure import Figure  # drawn with Agg, no pyplot: no global backend change

    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_subplot()
    if designs:
        lat = [d.metrics["latency_s"] for d in designs]
        energy = [d.metrics["energy_j"] for d in designs]
        area = [d.metrics["area_mm2"] for d in designs]
        norm = LogNorm() if min(area) > 0 and max(area) > min(area) else None
        points = ax.scatter(lat, energy, c=area, cmap="viridis", norm=norm, s=24,
                            edgecolors="k", linewidths=0.3)
        fig.colorbar(points, ax=ax, label="area (mm$^2$)")
        ax.set_xscale("log")
        ax.set_yscale("log")
    else:
        ax.text(0.5, 0.5, "no feasible design found", ha="center", va="center",
                transform=ax.transAxes)
    ax.set_xlabel("latency (s)")
    ax.set_ylabel("energy per inference (J)")
    ax.set_title(title or f"Pareto designs ({len(designs)})")
    ax.grid(True, which="both", alpha=0.3)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


#: Colours of the bottlenecks and energy parts, shared with the HTML report.
BOUND_COLOURS = dict(zip(BOTTLENECKS, ("#4c78a8", "#f58518", "#e45756"), strict=True))
PART_COLOURS = {"RF": "#4c78a8", "GLB": "#72b7b2", "DRAM": "#e45756", "MAC": "#54a24b",
                "leakage": "#b79a20"}


def _save(fig, path: str | Path) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def _layer_label(layer: Mapping[str, Any]) -> str:
    from codesign.results.names import layer_label

    return layer_label(layer.get("names") or [], layer.get("count", 1),
                       f"layer {layer.get('layer', '?')}")


def plot_layers(design: Mapping[str, Any], path: str | Path, title: str = "") -> None:
    """Per-layer breakdown of one design (its ``designs.json`` entry): energy stacked by
    level, and cycles against the lower bound, coloured by bottleneck; both count weighted
    (each unique layer's share of the network). Atomic write."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    layers = list(design.get("layers", ()))
    n = max(len(layers), 1)
    fig = Figure(figsize=(max(6.4, 0.45 * n + 2), 7.2), dpi=100)
    ax_e, ax_c = fig.subplots(2, 1, sharex=True)
    x = list(range(len(layers)))
    counts = [layer.get("count", 1) for layer in layers]
    bottom = [0.0] * len(layers)
    for part, colour in PART_COLOURS.items():
        values = [layer.get("energy_parts_pj", {}).get(part, 0.0) * c * 1e-6
                  for layer, c in zip(layers, counts, strict=True)]
        ax_e.bar(x, values, bottom=bottom, color=colour, label=part, width=0.8)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax_e.set_ylabel("energy (uJ, x count)")
    ax_e.legend(ncols=5, fontsize=8, loc="lower right", bbox_to_anchor=(1.0, 1.0),
                frameon=False)  # above the plot: a legend inside hides the tallest bars
    cycles = [layer.get("cycles", 0.0) * c for layer, c in zip(layers, counts, strict=True)]
    lower = [layer.get("lower_bound", {}).get("cycles", 0.0) * c
             for layer, c in zip(layers, counts, strict=True)]
    colours = [BOUND_COLOURS.get(layer.get("bound"), "#888888") for layer in layers]
    ax_c.bar(x, cycles, color=colours, width=0.8)
    ax_c.scatter(x, lower, marker="_", s=200, color="k", zorder=3, label="lower bound")
    handles = [Patch(color=c, label=f"{b}-bound") for b, c in BOUND_COLOURS.items()]
    ax_c.legend(handles=[*handles, *ax_c.get_legend_handles_labels()[0]], fontsize=8,
                ncols=4, loc="lower right", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax_c.set_ylabel("cycles (x count)")
    ax_c.set_xticks(x, [_layer_label(layer) for layer in layers], rotation=60, ha="right",
                    fontsize=8)
    if not layers:
        ax_e.text(0.5, 0.5, "no layers", ha="center", va="center", transform=ax_e.transAxes)
    for ax in (ax_e, ax_c):
        ax.grid(True, axis="y", alpha=0.3)
    fig.suptitle(title or f"design {design.get('design', '?')}: per-layer energy and cycles")
    _save(fig, path)


def plot_roofline(design: Mapping[str, Any], path: str | Path, title: str = "") -> None:
    """Roofline of one design: each layer's MACs per cycle against its MACs per DRAM word,
    under the roof ``min(PEs, intensity x dram_bw)``; colour = bottleneck. Atomic write."""
    from matplotlib.figure import Figure

    acc = design.get("accelerator", {})
    pes = acc.get("pe_rows", 1) * acc.get("pe_cols", 1)
    dram_bw = float(acc.get("dram_bw", 1.0))
    points = [(layer["macs"] / layer["dram_words"], layer["macs"] / layer["cycles"],
               layer.get("bound")) for layer in design.get("layers", ())
              if layer.get("dram_words") and layer.get("cycles") and layer.get("macs")]
    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_subplot()
    xs = [p[0] for p in points] or [1.0]
    lo, hi = min(min(xs), pes / dram_bw) / 4, max(max(xs), pes / dram_bw) * 4
    ridge = pes / dram_bw
    ax.plot([lo, ridge, hi], [lo * dram_bw, pes, pes], color="k", lw=1.5,
            label=f"roof: {pes} PEs, {dram_bw:g} words/cycle")
    for bound, colour in BOUND_COLOURS.items():
        sel = [p for p in points if p[2] == bound]
        if sel:
            ax.scatter([p[0] for p in sel], [p[1] for p in sel], color=colour, s=28,
                       edgecolors="k", linewidths=0.3, label=f"{bound}-bound layers", zorder=3)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("operational intensity (MACs per DRAM word)")
    ax.set_ylabel("throughput (MACs per cycle)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(title or f"design {design.get('design', '?')}: roofline")
    _save(fig, path)


def plot_convergence(history: Sequence[Mapping[str, Any]], path: str | Path,
                     title: str = "") -> None:
    """Hypervolume against design evaluations, one point per generation (``history.csv``
    rows). Atomic write."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 4.0), dpi=100)
    ax = fig.add_subplot()
    evals = [float(row["evaluations"]) for row in history if row.get("hypervolume") is not None]
    hv = [float(row["hypervolume"]) for row in history if row.get("hypervolume") is not None]
    if evals:
        ax.plot(evals, hv, marker="o", ms=3, color=BOUND_COLOURS["compute"])
    else:
        ax.text(0.5, 0.5, "no history", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("design evaluations")
    ax.set_ylabel("hypervolume")
    ax.grid(True, alpha=0.3)
    ax.set_title(title or "convergence")
    _save(fig, path)
