"""The names cost results go by: what a design is judged by, what one layer's mapping is
judged by, and the bounds that name a layer's bottleneck. Each list is defined here once.

Two kinds of objective share names and must not be confused:

- `DESIGN_OBJECTIVES` judge a whole design (the network on one accelerator): ``latency`` is
  seconds for every layer, ``energy`` joules (`CostResult.objectives`; ``--objectives``);
- `LAYER_OBJECTIVES` judge one layer's mapping on a fixed accelerator: ``latency`` is that
  layer's cycles, ``energy`` its picojoules, ``edp`` their product (the mapper's
  ``objective``; ``codesign map --objective``).

Torch-free, so that the CLI (which starts without torch) and the report can import it.
"""

from __future__ import annotations

__all__ = [
    "BOTTLENECKS",
    "DEFAULT_OBJECTIVES",
    "DESIGN_OBJECTIVES",
    "LAYER_OBJECTIVES",
    "OBJECTIVE_COLUMNS",
    "OBJECTIVE_UNITS",
    "UNKNOWN_BOTTLENECK",
]

# name, its pareto.csv column, its unit
_DESIGN_TABLE: tuple[tuple[str, str, str], ...] = (
    ("latency", "latency_s", "s"),
    ("energy", "energy_j", "J"),
    ("area", "area_mm2", "mm2"),
    ("edp", "edp_js", "J*s"),
    ("power", "power_w", "W"),
)
#: Objectives of a design that every `CostResult` provides, all minimised.
DESIGN_OBJECTIVES: tuple[str, ...] = tuple(name for name, _, _ in _DESIGN_TABLE)
#: The ``pareto.csv`` / ``designs.json`` metric that holds each design objective.
OBJECTIVE_COLUMNS: dict[str, str] = {name: column for name, column, _ in _DESIGN_TABLE}
#: The unit of each design objective (progress lines and labels).
OBJECTIVE_UNITS: dict[str, str] = {name: unit for name, _, unit in _DESIGN_TABLE}
#: The design objectives an exploration minimises unless told otherwise.
DEFAULT_OBJECTIVES: tuple[str, ...] = DESIGN_OBJECTIVES[:3]

#: Objectives of one layer's mapping (cycles x energy, cycles, energy), the mapper's choice.
LAYER_OBJECTIVES: tuple[str, ...] = ("edp", "latency", "energy")

#: The bounds of a layer's cycles, in `CostResult.bounds` order: the array's compute, the
#: GLB's and DRAM's bandwidth. The largest names the layer's bottleneck (as ``pareto.csv``'s
#: ``bound_*_frac`` columns, ``designs.json``, ``evaluate_mapping`` and ``codesign map`` do).
BOTTLENECKS: tuple[str, ...] = ("compute", "glb", "dram")
#: The bottleneck of a layer whose cost model gives no bounds.
UNKNOWN_BOTTLENECK = "unknown"
