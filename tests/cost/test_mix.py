"""`MixCostModel`: the mix's objectives are the weighted sums of each workload's own costs."""

from __future__ import annotations

import pytest
import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.batch import HardwareBatch
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.mix import MixCostModel
from codesign.cost.model import CostResult
from codesign.mapping.batch import MappingBatch, WorkloadTensors
from codesign.search.mapper import search_mappings
from codesign.workload.layer import Layer, LayerTable, VectorOp
from codesign.workload.mix import WorkloadMix

SHARED = Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="shared")


def _relu(name: str, n: int) -> VectorOp:
    return VectorOp(name, "Relu", elements=n, bytes_in=4 * n, bytes_out=4 * n, ops=n, words=2 * n)


@pytest.fixture
def mix() -> WorkloadMix:
    # a: the shared conv twice plus a gemm; b: a 1x1 conv, then the shared conv once
    a = LayerTable.from_layers([SHARED, Layer.gemm(M=4, K=64, N=16, name="fc"), SHARED],
                               [_relu("r", 512)])
    b = LayerTable.from_layers([Layer.conv(K=8, C=8, P=8, Q=8, name="pw"), SHARED],
                               [_relu("r", 1024), _relu("s", 64)])
    return WorkloadMix(("a", "b"), (a, b), (1, 3))


def _designs() -> HardwareBatch:
    return HardwareBatch.from_accelerators([
        Accelerator(pe_rows=8, pe_cols=8), Accelerator(pe_rows=16, pe_cols=4, glb_words=8192)])


def _mapped(mix: WorkloadMix) -> MappingBatch:
    """Mappings of the union's layers from the batched mapper (any valid mappings do)."""
    generator = torch.Generator().manual_seed(0)
    mappings, _ = search_mappings(_designs(), WorkloadTensors.from_table(mix.union),
                                  AnalyticalCostModel(), "edp", n_candidates=4, n_steps=1,
                                  generator=generator)
    return mappings


def test_union_shares_the_layer_two_workloads_have(mix):
    # union rows: shared (a, b), fc (a), pw (b); counts = 1*2 + 3*1, 1*1, 3*1
    assert mix.union.layers == (SHARED, mix.tables[0].layers[1], mix.tables[1].layers[0])
    assert mix.union.counts == (5, 1, 3)
    assert mix.count_matrix == ((2, 1, 0), (1, 0, 1))
    assert mix.layer_index == ((0, 1), (2, 0))
    assert [v.name for v in mix.union.vector_ops] == ["a/r", "b/r", "b/s"]


def test_mix_objectives_are_weighted_sums_of_single_workload_costs(mix):
    model, mappings, hardware = AnalyticalCostModel(), _mapped(mix), _designs()
    combined = MixCostModel(model, mix).evaluate(
        hardware, WorkloadTensors.from_table(mix.union), mappings)
    singles = []
    for table, index in zip(mix.tables, mix.layer_index, strict=True):
        rows = torch.tensor(index)
        own = MappingBatch(mappings.factors[:, rows], mappings.order[:, rows])
        singles.append(model.evaluate(hardware, WorkloadTensors.from_table(table), own))
    a, b = (s.objectives() for s in singles)
    named = combined.objectives()
    torch.testing.assert_close(named["latency"], a["latency"] + 3 * b["latency"])
    torch.testing.assert_close(named["energy"], a["energy"] + 3 * b["energy"])
    torch.testing.assert_close(named["area"], a["area"])
    torch.testing.assert_close(named["edp"], named["energy"] * named["latency"])
    for name, single in (("a", a), ("b", b)):
        for objective in ("latency", "energy", "edp", "power"):
            torch.testing.assert_close(named[f"{objective}@{name}"], single[objective])
    # per-layer figures: the union's shared row is the same cost in either workload
    torch.testing.assert_close(combined.cycles[:, 0], singles[1].cycles[:, 1])
    torch.testing.assert_close(combined.cycles[:, 2], singles[1].cycles[:, 0])
    assert combined.accesses.dtype == torch.int64
    assert torch.equal(combined.feasible_design,
                       singles[0].feasible_design & singles[1].feasible_design)


def test_union_costs_add_up_to_the_mix_latency(mix):
    # union counts x per-layer cycles + weighted vector cycles = the mix's latency cycles
    result = MixCostModel(AnalyticalCostModel(), mix).evaluate(
        _designs(), WorkloadTensors.from_table(mix.union), _mapped(mix))
    counts = torch.tensor(mix.union.counts, dtype=result.cycles.dtype)
    torch.testing.assert_close((result.cycles * counts).sum(-1) + result.vector_cycles,
                               result.latency_cycles)


def test_a_mix_of_one_workload_is_that_workload(mix):
    table = mix.tables[0]
    one = WorkloadMix(("a",), (table,), (1,))
    mappings = _mapped(one)
    wl = WorkloadTensors.from_table(table)
    alone = AnalyticalCostModel().evaluate(_designs(), wl, mappings)
    mixed = MixCostModel(AnalyticalCostModel(), one).evaluate(_designs(), wl, mappings)
    for name, value in alone.objectives().items():
        torch.testing.assert_close(mixed.objectives()[name], value)


class _Opaque(AnalyticalCostModel):
    """The analytical model under another class: `MixCostModel` costs it per workload."""


def test_the_analytical_shortcut_gives_the_per_workload_figures(mix):
    # one union call + count matrix (AnalyticalCostModel) == one call per workload (any model)
    hardware, mappings, wl = _designs(), _mapped(mix), WorkloadTensors.from_table(mix.union)
    fast = MixCostModel(AnalyticalCostModel(), mix).evaluate(hardware, wl, mappings)
    general = MixCostModel(_Opaque(), mix).evaluate(hardware, wl, mappings)
    assert fast.objectives().keys() == general.objectives().keys()
    for name, value in general.objectives().items():
        torch.testing.assert_close(fast.objectives()[name], value)
    for name in ("cycles", "energy_pj", "accesses", "vector_cycles", "vector_energy_pj"):
        torch.testing.assert_close(getattr(fast, name), getattr(general, name))
    assert torch.equal(fast.feasible, general.feasible)
    assert torch.equal(fast.feasible_design, general.feasible_design)


def test_an_added_objective_of_the_inner_model_is_summed_over_the_mix(mix):
    class Peaky(_Opaque):
        extra_objectives = ("busy",)

        def evaluate(self, hardware, workload, mappings):
            result = super().evaluate(hardware, workload, mappings)
            busy = result.latency_cycles * 2.0   # a made-up objective: 2 x the cycles
            return CostResult(**{**{f: getattr(result, f) for f in result.__dataclass_fields__},
                                 "extra_objectives": {"busy": busy}})

    model = MixCostModel(Peaky(), mix)
    assert model.extra_objectives[-1] == "busy"
    result = model.evaluate(_designs(), WorkloadTensors.from_table(mix.union), _mapped(mix))
    torch.testing.assert_close(result.extra_objectives["busy"], 2.0 * result.latency_cycles)


def test_a_table_that_lists_one_shape_twice_counts_both():
    # built directly, not through from_layers: the shared conv in two rows, 2 + 1 times
    twice = LayerTable((SHARED, SHARED), (2, 1), (("x",), ("y",)))
    once = LayerTable.from_layers([SHARED])
    mix = WorkloadMix(("twice", "once"), (twice, once), (1, 1))
    assert len(mix.union) == 1
    assert mix.count_matrix == ((3,), (1,))
