"""``pareto.png``: the front in latency / energy, coloured by area (matplotlib, Agg backend,
imported only when a plot is drawn)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

from codesign.results.pareto import ParetoDesign
from codesign.search.checkpoint import atomic_write_bytes

__all__ = ["plot_pareto"]


def plot_pareto(designs: Sequence[ParetoDesign], path: str | Path, title: str = "") -> None:
    """Scatter latency (s) against energy (J), colour = area (mm2), log axes; atomic write."""
    from matplotlib.figure import Figure  # drawn with Agg, no pyplot: no global backend change

    fig = Figure(figsize=(6.4, 4.8), dpi=100)
    ax = fig.add_subplot()
    if designs:
        lat = [d.metrics["latency_s"] for d in designs]
        energy = [d.metrics["energy_j"] for d in designs]
        area = [d.metrics["area_mm2"] for d in designs]
        points = ax.scatter(lat, energy, c=area, cmap="viridis", s=24, edgecolors="k",
                            linewidths=0.3)
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
