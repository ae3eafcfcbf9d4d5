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
    "COMPUTE_BOUND",
    "DEFAULT_OBJECTIVES",
    "DESIGN_OBJECTIVES",
    "LAYER_OBJECTIVES",
    "OBJECTIVE_COLUMNS",
    "OBJECTIVE_UNITS",
    "UNKNOWN_BOTTLENECK",
    "WORKLOAD_MARK",
    "WORKLOAD_OBJECTIVES",
    "objective_column",
    "workload_objective",
    "workload_objectives",
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

#: Objectives a run over several workloads also offers per workload, named
#: ``<objective><WORKLOAD_MARK><workload>`` (``latency@resnet50``: that model's seconds per
#: inference on the design); area is the chip's, one value for every workload.
WORKLOAD_OBJECTIVES: tuple[str, ...] = tuple(n for n in DESIGN_OBJECTIVES if n != "area")
#: What joins an objective and a workload name in a per-workload objective.
WORKLOAD_MARK = "@"


def workload_objective(objective: str, workload: str) -> str:
    """The name of ``objective`` on one ``workload`` of a mix.

    >>> workload_objective("latency", "resnet50")
    'latency@resnet50'
    """
    return f"{objective}{WORKLOAD_MARK}{workload}"


def workload_objectives(workloads: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """Every per-workload objective of a mix of ``workloads`` (workload-major).

    >>> workload_objectives(["a"])
    ('latency@a', 'energy@a', 'edp@a', 'power@a')
    """
    return tuple(workload_objective(o, w) for w in workloads for o in WORKLOAD_OBJECTIVES)


def objective_column(name: str) -> str:
    """The ``pareto.csv`` / ``designs.json`` metric of an objective: `OBJECTIVE_COLUMNS`'
    for a design objective, the same column with the workload for a per-workload one
    (``latency@bert`` -> ``latency_s@bert``), the name itself for a custom model's.

    >>> objective_column("energy"), objective_column("energy@bert"), objective_column("peak")
    ('energy_j', 'energy_j@bert', 'peak')
    """
    objective, mark, workload = name.partition(WORKLOAD_MARK)
    if mark and objective in WORKLOAD_OBJECTIVES and workload:
        return f"{OBJECTIVE_COLUMNS[objective]}{WORKLOAD_MARK}{workload}"
    return OBJECTIVE_COLUMNS.get(name, name)


#: Objectives of one layer's mapping (cycles x energy, cycles, energy), the mapper's choice.
LAYER_OBJECTIVES: tuple[str, ...] = ("edp", "latency", "energy")

#: The bounds of a layer's cycles, in `CostResult.bounds` order: the array's compute, the
#: GLB's and DRAM's bandwidth. The largest names the layer's bottleneck (as ``pareto.csv``'s
#: ``bound_*_frac`` columns, ``designs.json``, ``evaluate_mapping`` and ``codesign map`` do).
BOTTLENECKS: tuple[str, ...] = ("compute", "glb", "dram")
#: The bottleneck of a layer whose temporal steps, not a level's bandwidth, set its cycles
#: (on any hierarchy; the other names there are the architecture's levels).
COMPUTE_BOUND: str = BOTTLENECKS[0]
#: The bottleneck of a layer whose cost model gives no bounds.
UNKNOWN_BOTTLENECK = "unknown"
