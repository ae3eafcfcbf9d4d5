"""Hypothesis properties of the analytical model on random small layers and mappings."""

import itertools

import torch
from cost_cases import cases
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign import LayerTable
from codesign.cost.analytical import AnalyticalCostModel
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

PROPERTY = settings(max_examples=40, deadline=None)


def _evaluate(accelerators, layer, mapping):
    return AnalyticalCostModel().evaluate(
        HardwareBatch.from_accelerators(accelerators),
        WorkloadTensors.from_table(LayerTable.from_layers([layer])),
        MappingBatch.from_mappings([[mapping]] * len(accelerators)))


@PROPERTY
@given(cases(), st.sampled_from(["glb_bw", "dram_bw"]), st.floats(1.0, 16.0))
def test_more_bandwidth_is_never_slower(case, which, scale):
    layer, mapping, acc = case
    more = acc.replace(**{which: getattr(acc, which) * scale})
    res = _evaluate([acc, more], layer, mapping)
    assert res.cycles[1, 0] <= res.cycles[0, 0]


@PROPERTY
@given(cases())
def test_cycles_at_least_macs_per_pe(case):
    layer, mapping, acc = case
    res = _evaluate([acc], layer, mapping)
    assert res.cycles[0, 0] * acc.n_pes >= layer.macs
    assert 0 < res.utilization[0, 0] <= 1


def _touched_inputs(layer):
    """Distinct input words the layer reads (rows p*stride + r*dilation, not the bounding
    box: a stride larger than the filter skips rows that no mapping has to fetch)."""
    rows = {p * layer.stride[0] + r * layer.dilation[0]
            for p, r in itertools.product(range(layer.P), range(layer.R))}
    cols = {q * layer.stride[1] + s * layer.dilation[1]
            for q, s in itertools.product(range(layer.Q), range(layer.S))}
    return layer.N * layer.G * layer.C * len(rows) * len(cols)


@PROPERTY
@given(cases())
def test_dram_traffic_at_least_compulsory(case):
    layer, mapping, acc = case
    dram = _evaluate([acc], layer, mapping).accesses[0, 0, 2]          # [T, 2]
    assert dram[0, 0] >= layer.weight_words
    assert dram[1, 0] >= _touched_inputs(layer)
    assert dram[2, 1] >= layer.output_words
    assert dram.sum() >= layer.weight_words + _touched_inputs(layer) + layer.output_words


@PROPERTY
@given(cases())
def test_energy_and_counts_are_positive(case):
    layer, mapping, acc = case
    res = _evaluate([acc], layer, mapping)
    assert res.energy_pj[0, 0] > 0 and res.area_mm2[0] > 0
    assert (res.accesses >= 0).all()
    assert (res.energy_parts_pj >= 0).all()


@settings(max_examples=10, deadline=None)
@given(st.lists(cases(), min_size=2, max_size=5))
def test_a_batch_equals_one_at_a_time(batch_cases):
    """B designs x L layers in one call give what each (design, layer) gives alone."""
    layers = [layer for layer, _, _ in batch_cases]
    accs = [acc for _, _, acc in batch_cases]
    n = len(batch_cases)
    workload = WorkloadTensors(
        dims=torch.tensor([layer.dims for layer in layers]),
        stride=torch.tensor([layer.stride for layer in layers]),
        dilation=torch.tensor([layer.dilation for layer in layers]),
        counts=torch.ones(n, dtype=torch.int64),
        vector_ops=torch.zeros(0, dtype=torch.int64),
        vector_words=torch.zeros(0, dtype=torch.int64))
    # design b runs layer l with the mapping of case (b + l) % n
    grid = [[batch_cases[(b + l) % n][1] for l in range(n)] for b in range(n)]
    res = AnalyticalCostModel().evaluate(HardwareBatch.from_accelerators(accs), workload,
                                         MappingBatch.from_mappings(grid))
    for b, l in itertools.product(range(n), range(n)):
        one = _evaluate([accs[b]], layers[l], grid[b][l])
        assert torch.equal(res.accesses[b, l], one.accesses[0, 0])
        for name in ("cycles", "energy_pj", "utilization", "capacity_excess", "feasible"):
            assert torch.allclose(getattr(res, name)[b, l].double(),
                                  getattr(one, name)[0, 0].double(), rtol=1e-12), name
