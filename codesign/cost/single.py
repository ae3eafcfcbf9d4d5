"""`evaluate_mapping`: the analytical model for one layer, one design, one mapping, as plain
Python data (for people, notebooks and tests; the search uses the batched model)."""

from __future__ import annotations

from codesign.arch.accelerator import Accelerator
from codesign.arch.technology import Technology
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.model import ACCESS_KINDS, ENERGY_PARTS, MEMORY_LEVELS
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.mapping import Mapping
from codesign.mapping.validate import mapping_problems
from codesign.names import BOTTLENECKS
from codesign.workload.layer import TENSORS, Layer, LayerTable

__all__ = ["evaluate_mapping"]


def evaluate_mapping(layer: Layer, accelerator: Accelerator, mapping: Mapping,
                     technology: Technology | None = None) -> dict:
    """Cost ``mapping`` of ``layer`` on ``accelerator`` (v1 analytical model, float64, CPU),
    with ``technology`` or else the accelerator's own table (`Accelerator.technology`).

    Returns a dict: ``accesses[level][tensor]["reads" | "writes"]`` (levels RF, GLB, DRAM;
    tensors W, I, O; ints), ``cycles``, ``compute_cycles``, ``glb_cycles``, ``dram_cycles``,
    ``energy_pj``, ``energy_parts_pj`` (RF, GLB, DRAM, MAC, leakage), ``area_mm2``,
    ``utilization``, ``capacity_excess`` (words), ``feasible``, ``bottleneck`` (one of
    `BOTTLENECKS`: ``"compute"``, ``"glb"`` or ``"dram"``, the largest bound, compute on
    ties) and ``problems`` (from `mapping_problems`, empty when feasible). An infeasible
    mapping is still costed.

    >>> from codesign.mapping.mapping import Mapping
    >>> out = evaluate_mapping(Layer.gemm(M=4, K=4, N=4), Accelerator(pe_rows=4, pe_cols=4),
    ...     Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
    ...                        "temporal": {"GLB": {"P": 4}}}))
    >>> # DRAM moves W 16 + I 16 + O 16 words at 8 words/cycle: 6 cycles > 4 compute
    >>> out["compute_cycles"], out["accesses"]["DRAM"]["W"], out["bottleneck"]
    (4.0, {'reads': 16, 'writes': 0}, 'dram')
    """
    table = LayerTable.from_layers([layer])
    if technology is None:
        technology = accelerator.technology
    result = AnalyticalCostModel(technology).evaluate(
        HardwareBatch.from_accelerators([accelerator]),
        WorkloadTensors.from_table(table),
        MappingBatch.from_mappings([[mapping]]),
    )
    counts = result.accesses[0, 0].tolist()                       # [3, 3, 2]
    bounds = [float(result.compute_cycles[0, 0]), float(result.glb_cycles[0, 0]),
              float(result.dram_cycles[0, 0])]
    parts = result.energy_parts_pj[0, 0].tolist()
    return {
        "accesses": {level: {t: {kind: int(counts[m][j][k]) for k, kind in enumerate(ACCESS_KINDS)}
                             for j, t in enumerate(TENSORS)}
                     for m, level in enumerate(MEMORY_LEVELS)},
        "cycles": float(result.cycles[0, 0]),
        "compute_cycles": bounds[0],
        "glb_cycles": bounds[1],
        "dram_cycles": bounds[2],
        "energy_pj": float(result.energy_pj[0, 0]),
        "energy_parts_pj": dict(zip(ENERGY_PARTS, parts, strict=True)),
        "area_mm2": float(result.area_mm2[0]),
        "utilization": float(result.utilization[0, 0]),
        "capacity_excess": float(result.capacity_excess[0, 0]),
        "feasible": bool(result.feasible[0, 0]),
        "bottleneck": BOTTLENECKS[bounds.index(max(bounds))],
        "problems": mapping_problems(layer, accelerator, mapping),
    }
