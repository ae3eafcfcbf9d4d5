"""AnalyticalCostModel end to end: cycles and bounds, masks, network totals, autograd."""

import pytest
import torch

from codesign import Layer, LayerTable, Mapping, VectorOp
from codesign.arch.technology import Technology
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.model import CostModel
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from tests.golden import CONV, CONV_MAP, SMALL  # 1152 MACs on 2 x 2 PEs


def _evaluate(accelerators, layers, mappings, **kw):
    table = LayerTable.from_layers(layers, kw.pop("vector_ops", ()))
    return AnalyticalCostModel(**kw).evaluate(
        HardwareBatch.from_accelerators(accelerators), WorkloadTensors.from_table(table),
        MappingBatch.from_mappings(mappings))


def test_is_a_cost_model():
    assert isinstance(AnalyticalCostModel(), CostModel)


def test_golden_conv_cycles_and_bounds():
    res = _evaluate([SMALL], [CONV], [[CONV_MAP]])
    # compute: DRAM K2 * GLB P4 Q4 * RF R3 S3 = 288 = 1152 MACs / 4 PEs
    assert res.compute_cycles.tolist() == [[288.0]]
    # GLB words (test_access_counts golden table): W 72+72, I 576+72, O 64+64 = 920; / 32
    assert res.glb_cycles.tolist() == [[920 / 32]]
    # DRAM words: W 72, I 72, O 64 writes = 208; / 8
    assert res.dram_cycles.tolist() == [[26.0]]
    assert res.cycles.tolist() == [[288.0]]
    assert res.utilization.tolist() == [[1.0]]
    # RF tiles 9 + 9 + 1 = 19 <= 64; GLB tiles 36 + 72 + 32 = 140 <= 1024
    assert res.feasible.tolist() == [[True]] and res.capacity_excess.tolist() == [[0.0]]


def test_bandwidth_bound_takes_over():
    # dram_bw 0.5 word/cycle: 208 / 0.5 = 416 > 288 compute
    res = _evaluate([SMALL.replace(dram_bw=0.5)], [CONV], [[CONV_MAP]])
    assert res.cycles.tolist() == [[416.0]]
    # utilization is about compute, not the bottleneck
    assert res.utilization.tolist() == [[1.0]]


def test_utilization_counts_the_physical_array_and_padding():
    # Same mapping on 4 x 4 PEs: 1152 / (288 * 16) = 0.25
    assert _evaluate([SMALL.replace(pe_rows=4, pe_cols=4)], [CONV],
                     [[CONV_MAP]]).utilization.tolist() == [[0.25]]
    # P=3 padded to 4 by GLB P4: 864 useful MACs / (288 * 4)
    layer = Layer.conv(K=4, C=2, P=3, Q=4, R=3, S=3)
    assert _evaluate([SMALL], [layer], [[CONV_MAP]]).utilization.tolist() == [[0.75]]


@pytest.mark.parametrize(("change", "excess"), [
    ({"rf_words": 18}, 1.0),                  # RF needs 19
    ({"glb_words": 100}, 40.0),               # GLB needs 140
    ({"rf_words": 10, "glb_words": 130}, 19.0),  # 9 + 10
])
def test_capacity_excess_sums_the_words_over(change, excess):
    res = _evaluate([SMALL.replace(**change)], [CONV], [[CONV_MAP]])
    assert res.capacity_excess.tolist() == [[excess]]
    assert res.feasible.tolist() == [[False]]


@pytest.mark.parametrize("accelerator", [
    SMALL.replace(pe_rows=1),                     # rows C2 > 1
    SMALL.replace(pe_cols=1),                     # cols K2 > 1
    SMALL.replace(dataflow="os"),                 # os rows take N P Q, not C
])
def test_array_and_dataflow_violations_are_masked(accelerator):
    res = _evaluate([accelerator, SMALL], [CONV], [[CONV_MAP], [CONV_MAP]])
    assert res.feasible.tolist() == [[False], [True]]
    assert res.feasible_design.tolist() == [False, True]
    assert torch.isfinite(res.cycles).all() and torch.isfinite(res.energy_pj).all()


def test_uncovered_dim_is_infeasible():
    layer = Layer.conv(K=5, C=2, P=4, Q=4, R=3, S=3)    # K 5 > 2 * 2
    assert _evaluate([SMALL], [layer], [[CONV_MAP]]).feasible.tolist() == [[False]]


def test_network_totals_weight_layers_by_count_and_add_vector_ops():
    gemm = Layer.gemm(M=2, K=2, N=2)
    gemm_map = Mapping.from_json({"temporal": {"RF": {"P": 2, "C": 2, "K": 2}}})
    relu = VectorOp("relu", "Relu", elements=8, bytes_in=16, bytes_out=16, ops=8)
    res = _evaluate([SMALL], [CONV, gemm, CONV], [[CONV_MAP, gemm_map]], vector_ops=[relu])
    assert res.cycles.shape == (1, 2)
    expected = 2 * res.cycles[0, 0] + res.cycles[0, 1] + res.vector_cycles[0]
    assert res.vector_cycles[0] > 0
    assert res.latency_cycles.tolist() == [expected.item()]
    expected = 2 * res.energy_pj[0, 0] + res.energy_pj[0, 1] + res.vector_energy_pj[0]
    assert res.total_energy_pj[0].item() == pytest.approx(expected.item())


def test_energy_is_the_sum_of_its_parts():
    res = _evaluate([SMALL], [CONV], [[CONV_MAP]])
    assert res.energy_parts_pj.shape == (1, 1, 5)
    assert (res.energy_parts_pj > 0).all()
    assert res.energy_pj.item() == pytest.approx(res.energy_parts_pj.sum().item())


def test_technology_is_used():
    cheap_dram = Technology.default().replace(dram_pj_64b=1.0)
    base = _evaluate([SMALL], [CONV], [[CONV_MAP]])
    cheap = _evaluate([SMALL], [CONV], [[CONV_MAP]], technology=cheap_dram)
    assert cheap.energy_parts_pj[0, 0, 2] < base.energy_parts_pj[0, 0, 2]
    assert cheap.energy_parts_pj[0, 0, 0] == base.energy_parts_pj[0, 0, 0]


def test_float_factors_keep_autograd_finite():
    hardware = HardwareBatch.from_accelerators([SMALL, SMALL.replace(dram_bw=0.5)])
    workload = WorkloadTensors.from_table(LayerTable.from_layers([CONV]))
    exact = MappingBatch.from_mappings([[CONV_MAP], [CONV_MAP]])
    factors = (exact.factors.to(torch.float64) * 1.1).requires_grad_()
    res = AnalyticalCostModel().evaluate(hardware, workload, MappingBatch(factors, exact.order))
    (res.latency_cycles.sum() + res.total_energy_pj.sum() + res.capacity_excess.sum()).backward()
    assert torch.isfinite(factors.grad).all()
    assert factors.grad.abs().sum() > 0
    # Relaxed integers give the integer answers.
    res = AnalyticalCostModel().evaluate(
        hardware, workload, MappingBatch(exact.factors.to(torch.float64), exact.order))
    assert res.cycles.tolist() == [[288.0], [416.0]]


def _compiled_matches_eager() -> None:
    hardware = HardwareBatch.from_accelerators([SMALL, SMALL.replace(dram_bw=0.5)])
    workload = WorkloadTensors.from_table(LayerTable.from_layers([CONV]))
    mappings = MappingBatch.from_mappings([[CONV_MAP], [CONV_MAP]])
    eager = AnalyticalCostModel().evaluate(hardware, workload, mappings)
    compiled = AnalyticalCostModel(compiled=True).evaluate(hardware, workload, mappings)
    assert torch.equal(eager.accesses, compiled.accesses)
    assert compiled.cycles.tolist() == [[288.0], [416.0]]
    torch.testing.assert_close(compiled.total_energy_pj, eager.total_energy_pj)


def test_the_model_traces_through_torch_compile(monkeypatch):
    """The fast suite's compile test: dynamo captures the whole model and AOTAutograd
    traces it (``aot_eager`` runs the captured graph without generating kernels, seconds
    instead of a minute), so a graph break or an untraceable op fails here; the inductor
    build itself is the slow test below."""
    import functools

    import torch._dynamo

    monkeypatch.setattr(torch, "compile",
                        functools.partial(torch.compile, backend="aot_eager", fullgraph=True))
    torch._dynamo.reset()
    try:
        _compiled_matches_eager()
    finally:
        torch._dynamo.reset()


@pytest.mark.slow
def test_compiled_model_gives_the_same_numbers():
    """torch.compile (about a minute to compile on 2 cores) changes speed, not results."""
    _compiled_matches_eager()
