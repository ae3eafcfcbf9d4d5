"""The v1 template is one hierarchy: its counts under the V1 rules are v1's access table.

The same 400 random (layer, mapping) cases the v1 simulator checks, costed by the v1 model
and by `nest_counts` on `v1_hierarchy`, must give identical [B, L, 3, 3, 2] accesses.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cost"))
from loopnest_sim import random_case  # noqa: E402

from codesign import Accelerator, LayerTable  # noqa: E402
from codesign.cost.analytical import AnalyticalCostModel  # noqa: E402
from codesign.hierarchy.counts import V1, nest_counts  # noqa: E402
from codesign.hierarchy.v1 import V1_LEVELS, nests_from_v1, v1_accesses, v1_hierarchy  # noqa: E402
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors  # noqa: E402
from codesign.mapping.mapping import FACTOR_LEVELS, TEMPORAL_LEVELS  # noqa: E402

BIG = Accelerator(pe_rows=1024, pe_cols=1024, rf_words=1 << 20, glb_words=1 << 30)


def test_v1_layout_is_the_hierarchy_layout():
    h = v1_hierarchy(BIG)
    assert h.level_names == V1_LEVELS == TEMPORAL_LEVELS
    assert [s.name for s in h.slots] == ["DRAM", "GLB", "array.X", "array.Y", "RF"]
    assert len(h.slots) == len(FACTOR_LEVELS)
    assert h.instances == (1, 1, 1024 * 1024)


def test_v1_accesses_equal_the_v1_model_on_400_random_cases():
    rng = random.Random(20261202)
    cases = [random_case(rng) for _ in range(400)]
    layers = [layer for layer, _ in cases]
    # one layer per case: a [1, 400] batch of distinct layers
    table = LayerTable(tuple(layers), (1,) * len(layers), tuple(("",) for _ in layers))
    workload = WorkloadTensors.from_table(table)
    mappings = MappingBatch.from_mappings([[m for _, m in cases]])
    v1 = AnalyticalCostModel().evaluate(HardwareBatch.from_accelerators([BIG]), workload,
                                        mappings)
    nests = nests_from_v1(mappings.factors, mappings.order)
    counts = nest_counts(v1_hierarchy(BIG), nests.factors, nests.order, nests.keep,
                         workload.stride, workload.dilation, V1,
                         useful_macs=workload.dims.prod(-1))
    ours = v1_accesses(counts)
    assert ours.dtype == torch.int64
    bad = (ours != v1.accesses).flatten(2).any(-1)[0].nonzero().flatten().tolist()
    assert not bad, [(i, layers[i], cases[i][1].to_json()) for i in bad[:3]]
