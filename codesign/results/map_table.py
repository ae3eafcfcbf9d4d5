"""What ``codesign map`` prints and writes for a hierarchy (`HierarchyMapResult`): a table
in the architecture's own level names, then the network totals.

::

    #  layer  n  mapping                       cycles  energy_uJ  PEs  util  bound
    0  CONV1  1  spad S11 | PE X:P5Q11 Y:R11  ...     ...        121  0.70  compute
    total: 5 MAC layers (5 unique) on eyeriss (hierarchy preset: DRAM GLB spad, 168 PEs,
    200 MHz): ... cycles = ... ms, ... uJ, area ... mm2; ... of 168 PEs active on average ...
"""

from __future__ import annotations

import os
from pathlib import Path

from codesign.search.layer_maps import HierarchyMapResult

__all__ = ["MAP_FILES", "format_hierarchy_map", "layer_label", "write_hierarchy_map"]

#: The files ``codesign map --out`` writes (per-layer rows, and the mappings with costs).
MAP_FILES = ("layers.csv", "mappings.json")


def layer_label(names: str, width: int = 28) -> str:
    """A unique layer's column in `codesign map`'s tables: its first node's name and how
    many more share the shape (``"conv1 +2"``), cut to ``width``.

    >>> layer_label("conv1 conv2 conv3")
    'conv1 +2'
    """
    parts = names.split()
    label = (parts[0] if parts else "?") + (f" +{len(parts) - 1}" if len(parts) > 1 else "")
    return label[:width]


def format_hierarchy_map(result: HierarchyMapResult) -> str:
    """The text table: one line per unique layer, notes, then the totals (last line)."""
    header = ("#", "layer", "n", "mapping", "cycles", "energy_uJ", "PEs", "util", "bound")
    lines = []
    for row in result.to_rows():
        lines.append((str(row["layer"]), layer_label(row["names"]), str(row["count"]),
                      row["mapping"],
                      f"{row['cycles']:.4g}", f"{row['energy_pj'] * 1e-6:.4g}",
                      str(row["pes"]), f"{row['utilization']:.2f}",
                      row["bottleneck"] + ("" if row["feasible"] else " (infeasible)")))
    widths = [max(len(h), *(len(line[i]) for line in lines)) if lines else len(h)
              for i, h in enumerate(header)]
    text = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    text += ["  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip()
             for line in lines]
    if result.n_vector_ops:
        text.append(f"note: {result.n_vector_ops} vector op(s) not costed on a hierarchy "
                    f"(a v1 --arch costs them)")
    text += [f"note: {note}" for note in result.notes]
    h = result.hierarchy
    settings = result.settings
    text.append(
        f"total: {result.table.n_mac_layers} MAC layers ({len(result.table)} unique) on "
        f"{h.name} ({result.kind}: {' '.join(h.level_names)}, {h.n_compute} PEs, "
        f"{h.clock_mhz:g} MHz): {result.latency_cycles:.4g} cycles = "
        f"{result.latency_s * 1e3:.4g} ms, {result.total_energy_pj * 1e-6:.4g} uJ, area "
        f"{result.area_mm2:.3g} mm2; {result.mean_active_pes:.0f} of {h.n_compute} PEs "
        f"active on average (objective {result.objective}, effort "
        f"{settings.get('effort', '?')}, {result.device}, seed {result.seed})")
    return "\n".join(text)


def write_hierarchy_map(result: HierarchyMapResult, out: str | os.PathLike) -> list[Path]:
    """``layers.csv`` (`HierarchyMapResult.to_rows`) and ``mappings.json``
    (`HierarchyMapResult.to_dict`) in the folder ``out``; their paths."""
    from codesign.atomic import make_folder
    from codesign.results.export import write_csv, write_json

    folder = make_folder(out)
    rows = result.to_rows()
    paths = [folder / name for name in MAP_FILES]
    write_csv(paths[0], rows, list(rows[0]) if rows else ["layer"])
    write_json(paths[1], result.to_dict())
    return paths
