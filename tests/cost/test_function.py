"""`FunctionCostModel`: a per-design Python function costed as a batch."""

import math
import warnings

import pytest
import torch

from codesign import Accelerator, Layer, LayerTable, Mapping
from codesign.cost.function import NOT_FINITE, FunctionCostModel, workload_table
from codesign.cost.model import CostModel
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

# two unique layers: a 4x4x4 gemm (64 MACs) twice, a 2x2x2 gemm (8 MACs) once
TABLE = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4, name="a"),
                                Layer.gemm(M=4, K=4, N=4, name="b"),
                                Layer.gemm(M=2, K=2, N=2, name="c")])
WORKLOAD = WorkloadTensors.from_table(TABLE)
ACCS = [Accelerator(pe_rows=2, pe_cols=2), Accelerator(pe_rows=4, pe_cols=8, dataflow="ws")]
HW = HardwareBatch.from_accelerators(ACCS)
# everything temporal at DRAM: covers every layer, fits any array
MAPS = [Mapping.from_json({"temporal": {"DRAM": {"P": 4, "C": 4, "K": 4}}}),
        Mapping.from_json({"temporal": {"DRAM": {"P": 2, "C": 2, "K": 2}}})]
MB = MappingBatch.from_mappings([MAPS, MAPS])


def ideal(accelerator, layers, mappings):
    """Cycles = MACs / PEs, energy 1 pJ per MAC, area 0.5 mm2 per PE."""
    macs = sum(c * layer.macs for layer, c in zip(layers.layers, layers.counts, strict=True))
    return {"latency_cycles": macs / accelerator.n_pes, "energy_pj": float(macs),
            "area_mm2": 0.5 * accelerator.n_pes}


def quiet(model, hw=HW, workload=WORKLOAD, mb=MB):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.evaluate(hw, workload, mb)


def test_is_a_cost_model_and_packs_totals():
    model = FunctionCostModel(ideal)
    assert isinstance(model, CostModel)
    res = quiet(model)
    # network MACs = 2 * 64 + 8 = 136; PEs 4 and 32
    assert res.latency_cycles.tolist() == [136 / 4, 136 / 32]
    assert res.total_energy_pj.tolist() == [136.0, 136.0]
    assert res.area_mm2.tolist() == [2.0, 16.0]
    assert res.feasible_design.tolist() == [True, True]
    assert res.extra_objectives == {}
    assert set(res.objectives()) == {"latency", "energy", "area", "edp", "power"}
    # latency in seconds at the default 1000 MHz clock
    assert res.latency_s.tolist() == pytest.approx([34e-9, 4.25e-9])


def test_without_layer_values_totals_are_split_by_mac_share():
    res = quiet(FunctionCostModel(ideal))
    # design 0: 34 cycles; layer shares 64/136 and 8/136 of one occurrence each
    assert res.cycles[0].tolist() == pytest.approx([34 * 64 / 136, 34 * 8 / 136])
    # counts-weighted per-layer values add back up to the network total
    weighted = (res.cycles * WORKLOAD.counts.to(res.cycles.dtype)).sum(-1)
    assert weighted.tolist() == pytest.approx(res.latency_cycles.tolist())


def test_layer_values_extra_objectives_and_infeasible_designs():
    def fn(accelerator, layers, mappings):
        assert [m.total("C") for m in mappings] == [4, 2]      # the mappings came through
        small = accelerator.n_pes < 8
        return {"latency_cycles": 10.0, "energy_pj": 20.0, "area_mm2": 1.0,
                "layer_cycles": [3.0, 4.0], "layer_energy_pj": [5.0, 10.0],
                "feasible": not small, "peak_power": float(accelerator.n_pes)}

    res = quiet(FunctionCostModel(fn, extra_objectives=("peak_power",)))
    assert res.cycles.tolist() == [[3.0, 4.0], [3.0, 4.0]]
    assert res.energy_pj.tolist() == [[5.0, 10.0], [5.0, 10.0]]
    assert res.feasible_design.tolist() == [False, True]
    assert res.feasible.tolist() == [[False, False], [True, True]]
    assert res.objectives()["peak_power"].tolist() == [4.0, 32.0]
    # utilisation: layer 0 has 64 MACs in 3 cycles on 4 PEs -> capped at 1; on 32 PEs 64/96
    assert res.utilization[1].tolist() == pytest.approx([64 / 96, 8 / 128])


def test_receives_plain_accelerators_and_layers():
    seen = []

    def fn(accelerator, layers, mappings):
        seen.append((accelerator, layers))
        return ideal(accelerator, layers, mappings)

    quiet(FunctionCostModel(fn))
    (acc0, table), (acc1, _) = seen
    assert (acc0.pe_rows, acc0.pe_cols, acc0.dataflow.name) == (2, 2, "flexible")
    assert (acc1.pe_rows, acc1.pe_cols, acc1.dataflow.name) == (4, 8, "ws")
    assert table.layers == TABLE.layers and table.counts == (2, 1)


def test_warns_once_about_speed():
    model = FunctionCostModel(ideal)
    with pytest.warns(UserWarning, match="one at a time"):
        model.evaluate(HW, WORKLOAD, MB)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.evaluate(HW, WORKLOAD, MB)                      # no second warning


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_makes_that_design_infeasible_without_nan(bad):
    def fn(accelerator, layers, mappings):
        out = ideal(accelerator, layers, mappings)
        if accelerator.n_pes == 4:
            out["latency_cycles"] = bad
            out["energy_pj"] = bad
        return out

    model = FunctionCostModel(fn)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.warns(RuntimeWarning, match=r"non-finite costs for designs \[0\]"):
            res = model.evaluate(HW, WORKLOAD, MB)
    assert res.feasible_design.tolist() == [False, True]
    assert res.latency_cycles[0] == NOT_FINITE
    for value in res.objectives().values():
        assert not torch.isnan(value).any()
    assert res.latency_cycles[1] == 136 / 32                    # the other design untouched


@pytest.mark.parametrize(("answer", "message"), [
    ({"latency_cycles": 1.0, "energy_pj": 1.0}, r"missing keys \['area_mm2'\]"),
    ({"latency_cycles": 1.0, "energy_pj": 1.0, "area_mm2": 1.0, "peak": 2.0},
     r"unknown keys \['peak'\].*extra_objectives"),
    ({"latency_cycles": 1.0, "energy_pj": 1.0, "area_mm2": 1.0, "layer_cycles": [1.0]},
     "layer_cycles has 1 values, expected one per unique layer"),
    ({"latency_cycles": "fast", "energy_pj": 1.0, "area_mm2": 1.0}, "'fast'"),
    ([1.0, 2.0, 3.0], "returned list"),
])
def test_malformed_answers_say_what_is_wrong(answer, message):
    with pytest.raises(ConfigError, match=message):
        quiet(FunctionCostModel(lambda a, t, m: answer))


def test_extra_objective_names_are_checked():
    with pytest.raises(ConfigError, match="built-in"):
        FunctionCostModel(ideal, extra_objectives=("energy",))
    with pytest.raises(ConfigError, match="expected a function"):
        FunctionCostModel(42)


def test_follows_the_hardware_dtype():
    hw32 = HW.to(dtype=torch.float32)
    res = quiet(FunctionCostModel(ideal), hw=hw32)
    assert res.latency_cycles.dtype == torch.float32
    # only the core: no invented bounds, traffic or energy parts (nothing reads it as
    # compute-bound or as moving no data)
    assert res.accesses is None and res.energy_parts_pj is None and res.bounds() is None


def test_a_function_model_is_not_reported_compute_bound():
    from codesign import Accelerator
    from codesign.search.mapper import map_layers

    table = LayerTable.from_layers([Layer.gemm(M=8, K=8, N=8)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = map_layers(table, Accelerator(pe_rows=4, pe_cols=4), effort="fast",
                         cost_model=FunctionCostModel(ideal))
    assert out.bottleneck == ("unknown",)


def test_workload_table_round_trip_keeps_vector_ops():
    from codesign import VectorOp

    table = LayerTable.from_layers(
        [Layer.conv(K=2, C=2, P=3, Q=3, R=3, S=3, stride=2, dilation=(1, 2))],
        [VectorOp("relu", "Relu", elements=18, bytes_in=72, bytes_out=72, ops=18, words=36)])
    back = workload_table(WorkloadTensors.from_table(table))
    assert back.layers == table.layers
    assert back.layers[0].stride == (2, 2) and back.layers[0].dilation == (1, 2)
    assert [(v.ops, v.words) for v in back.vector_ops] == [(18, 36)]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_result_lives_on_the_inputs_device():
    res = quiet(FunctionCostModel(ideal), hw=HW.to("cuda"), workload=WORKLOAD.to("cuda"),
                mb=MB.to("cuda"))
    assert res.latency_cycles.device.type == "cuda" and res.feasible.device.type == "cuda"
    assert res.latency_cycles.cpu().tolist() == [136 / 4, 136 / 32]
