"""systolic_compute_cycles: hand-derived fill/drain numbers, v1 unchanged when off, gradients.

Per-fold cycles follow SCALE-Sim 3.0.0's demand matrices (scalesim/compute/): one fold of
ws or is has ``T + 2*rows + cols - 2`` lines (``rows`` to preload the stationary operand,
``T`` streamed, ``rows - 1 + cols - 1`` of skew fill and drain); os has ``T + rows + cols - 2``.
"""

import pytest
import torch

from codesign import Accelerator, Layer, LayerTable, Mapping
from codesign.cost.latency import compute_cycles
from codesign.cost.systolic import systolic_compute_cycles, systolic_overhead_cycles
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors

# The tiny GEMM [4 x 4] @ [4 x 4]: P = M = 4, C = 4, K = 4 (64 MACs) on a 2 x 2 array.
GEMM = Layer.gemm(M=4, K=4, N=4)
WS = Mapping.from_json({"spatial": {"rows": {"C": 2}, "cols": {"K": 2}},
                        "temporal": {"GLB": {"K": 2, "C": 2, "P": 4}},
                        "order": {"GLB": ["K", "C", "P"]}})
OS = Mapping.from_json({"spatial": {"rows": {"P": 2}, "cols": {"K": 2}},
                        "temporal": {"GLB": {"K": 2, "P": 2, "C": 4}},
                        "order": {"GLB": ["K", "P", "C"]}})
IS = Mapping.from_json({"spatial": {"rows": {"C": 2}, "cols": {"P": 2}},
                        "temporal": {"GLB": {"P": 2, "C": 2, "K": 4}},
                        "order": {"GLB": ["P", "C", "K"]}})


def _cycles(accelerators, layers, mappings, **kw):
    wl = WorkloadTensors.from_table(LayerTable.from_layers(layers))
    hw = HardwareBatch.from_accelerators(accelerators)
    mb = MappingBatch.from_mappings(mappings)
    return systolic_compute_cycles(mb.factors, wl.dims, hw, mb.order, **kw)


def _array(dataflow, systolic=True, rows=2, cols=2):
    return Accelerator(pe_rows=rows, pe_cols=cols, dataflow=dataflow, systolic=systolic)


@pytest.mark.parametrize(("dataflow", "mapping", "expected"), [
    # ws: 2 K-folds x 2 C-folds = 4 folds, each T = P = 4 plus 2*2 + 2 - 2 = 4 -> 4 * 8
    ("ws", WS, 32.0),
    # os: 2 K-folds x 2 P-folds = 4 folds, each T = C = 4 plus 2 + 2 - 2 = 2 -> 4 * 6
    ("os", OS, 24.0),
    # is: 2 P-folds x 2 C-folds = 4 folds, each T = K = 4 plus 2*2 + 2 - 2 = 4 -> 4 * 8
    ("is", IS, 32.0),
])
def test_tiny_gemm_fill_and_drain(dataflow, mapping, expected):
    assert _cycles([_array(dataflow)], [GEMM], [[mapping]]).tolist() == [[expected]]


def test_v1_unchanged_when_not_systolic():
    # v1 compute = product of temporal factors = 2 * 2 * 4 = 16 for all three mappings
    hw = [_array(df, systolic=False) for df in ("ws", "os", "is")]
    got = _cycles(hw, [GEMM], [[WS], [OS], [IS]])
    assert got.tolist() == [[16.0], [16.0], [16.0]]
    mb = MappingBatch.from_mappings([[WS], [OS], [IS]])
    assert torch.equal(got, compute_cycles(mb.factors, HardwareBatch.from_accelerators(hw)))


def test_mixed_batch_follows_each_design_flag():
    got = _cycles([_array("ws"), _array("ws", systolic=False)], [GEMM], [[WS], [WS]])
    assert got.tolist() == [[32.0], [16.0]]


def test_overhead_per_stationary_tensor():
    # rows 4, cols 8: W and I preload over 4 rows -> 4 + 8 - 2 + 4 = 14; O -> 10
    hw = HardwareBatch.from_accelerators([Accelerator(pe_rows=4, pe_cols=8)])
    assert systolic_overhead_cycles(hw).tolist() == [[14.0, 14.0, 10.0]]


def test_streaming_loop_outside_the_folds_refills_every_step():
    # ws with P outermost: the weights change every step, 16 folds of T = 1, each + 4
    bad = Mapping.from_json({"spatial": {"rows": {"C": 2}, "cols": {"K": 2}},
                             "temporal": {"GLB": {"K": 2, "C": 2, "P": 4}},
                             "order": {"GLB": ["P", "K", "C"]}})
    assert _cycles([_array("ws")], [GEMM], [[bad]]).tolist() == [[16.0 + 16 * 4]]


def test_flattened_axis_packs_the_window():
    # conv C = 3, R = S = 3 (window 27), K = 2, P = Q = 2 on 8 x 2, ws.
    # Per dim, rows C=2 x R=2 x S=2 take ceil(3/2)^3 = 8 row folds; the flattened window
    # takes ceil(27 / 8) = 4 (SCALE-Sim's Sr = 27 on 8 rows). K fits the 2 cols: 1 col fold.
    # T = P * Q = 4; per fold 4 + 2*8 + 2 - 2 = 20.
    conv = Layer.conv(K=2, C=3, P=2, Q=2, R=3, S=3)
    m = Mapping.from_json({"spatial": {"rows": {"C": 2, "R": 2, "S": 2}, "cols": {"K": 2}},
                           "temporal": {"GLB": {"C": 2, "R": 2, "S": 2, "P": 2, "Q": 2}},
                           "order": {"GLB": ["C", "R", "S", "P", "Q"]}})
    hw = [_array("ws", rows=8, cols=2)]
    assert _cycles(hw, [conv], [[m]]).tolist() == [[4 * 20.0]]
    assert _cycles(hw, [conv], [[m]], flatten=False).tolist() == [[8 * 20.0]]


def test_flexible_dataflow_picks_the_cheaper_stationary_tensor():
    # Only K is unrolled (cols), so W and O are both relevant to every unrolled dim.
    # GEMM M=4, K=4, N=4 with cols K=2, GLB order K, C, P (P innermost):
    #   W stationary: reloads(W) = C*K = 8 folds of T = 4 (+ 2*2 + 2 - 2 = 4) -> 64
    #   O stationary: P is relevant to O and innermost -> 32 folds of T = 1 (+2) -> 96
    m = Mapping.from_json({"spatial": {"cols": {"K": 2}},
                           "temporal": {"GLB": {"K": 2, "C": 4, "P": 4}},
                           "order": {"GLB": ["K", "C", "P"]}})
    assert _cycles([_array("flexible")], [GEMM], [[m]]).tolist() == [[64.0]]


def test_no_stationary_tensor_refills_every_step():
    # rows <- K and C, cols <- P: W lacks P, I lacks K, O lacks C -> nothing is stationary;
    # every one of the 4 steps pays rows + cols - 2 = 6 (4 x 4 array) -> 4 * (1 + 6)
    m = Mapping.from_json({"spatial": {"rows": {"K": 2, "C": 2}, "cols": {"P": 4}},
                           "temporal": {"GLB": {"K": 2, "C": 2}}})
    hw = [_array("flexible", rows=4, cols=4)]
    assert _cycles(hw, [GEMM], [[m]]).tolist() == [[4 * 7.0]]


def test_batched_matches_one_by_one():
    accs = [_array("ws"), _array("os"), _array("is"), _array("ws", systolic=False)]
    maps = [[WS], [OS], [IS], [WS]]
    batched = _cycles(accs, [GEMM], maps)
    single = torch.cat([_cycles([a], [GEMM], [m]) for a, m in zip(accs, maps, strict=True)])
    assert torch.equal(batched, single)


def test_differentiable_in_float_factors():
    wl = WorkloadTensors.from_table(LayerTable.from_layers([GEMM]))
    hw = HardwareBatch.from_accelerators([_array("ws")])
    mb = MappingBatch.from_mappings([[WS]])
    factors = mb.factors.to(torch.float64).requires_grad_()
    out = systolic_compute_cycles(factors, wl.dims, hw, mb.order)
    out.sum().backward()
    assert out.item() == 32.0
    # d/d(P factor at GLB): 4 folds each stream P steps -> 4 cycles per unit of P
    assert factors.grad[0, 0, 1, 4].item() == pytest.approx(4.0)
    assert torch.isfinite(factors.grad).all()


def test_analytical_model_adds_fill_and_drain():
    # the cost model's compute bound is this function: 32 vs 16 cycles (test above), and the
    # utilisation follows: 64 MACs / (32 cycles * 4 PEs) = 0.5
    from codesign.cost.analytical import AnalyticalCostModel

    hw = HardwareBatch.from_accelerators([_array("ws"), _array("ws", systolic=False)])
    wl = WorkloadTensors.from_table(LayerTable.from_layers([GEMM]))
    res = AnalyticalCostModel().evaluate(hw, wl, MappingBatch.from_mappings([[WS], [WS]]))
    assert res.compute_cycles.tolist() == [[32.0], [16.0]]
    assert res.utilization.tolist() == [[0.5], [1.0]]


def test_tpu_preset_is_systolic_and_the_mapper_searches_with_it():
    from codesign.arch.presets import load_preset
    from codesign.search.mapper import map_layers

    tpu = load_preset("tpu")
    assert tpu.systolic and tpu.dataflow.name == "ws"
    small = tpu.replace(pe_rows=8, pe_cols=8)
    layer = Layer.gemm(M=64, K=32, N=32)
    table = LayerTable.from_layers([layer])
    res = map_layers(table, small, device="cpu", n_candidates=64, n_steps=2)
    mb = MappingBatch.from_mappings([[res.mappings[0]]])
    hw = HardwareBatch.from_accelerators([small])
    fill_drain = systolic_compute_cycles(mb.factors, WorkloadTensors.from_table(table).dims,
                                         hw, mb.order)
    # the utilisation the mapper reports is the one with fill and drain, below v1's
    assert res.utilization[0] == pytest.approx(layer.macs / (fill_drain.item() * 64))
    assert fill_drain.item() > compute_cycles(mb.factors, hw).item()
