"""Lower bounds: hand-derived values, and no cost-model result ever beats them."""

import itertools

import pytest
import torch
from cost_cases import cases
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign import Accelerator, Layer, LayerTable, Mapping
from codesign.arch.technology import Technology
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.bounds import BOUND_KEYS, lower_bounds, min_input_extent, min_words
from codesign.cost.energy import dram_access_pj, glb_access_pj, rf_access_pj
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors


def _workload(*layers):
    return WorkloadTensors.from_table(LayerTable.from_layers(list(layers)))


def _touched_rows(p, r, stride, dilation):
    """Distinct input rows the layer reads: a floor under any tiling's total."""
    return len({i * stride + j * dilation for i, j in itertools.product(range(p), range(r))})


def test_min_input_extent_is_the_box_for_overlapping_windows():
    # 3x3 filter, stride 1, 8 output rows: box (8-1)*1 + (3-1)*1 + 1 = 10 rows;
    # the other corners are 8*3 = 24, 3*8 = 24 and 24.
    t = torch.tensor
    assert min_input_extent(t(8), t(3), t(1), t(1)).item() == 10


def test_min_input_extent_skips_rows_a_large_stride_never_reads():
    # 1x1 filter, stride 2, 5 output rows: box 9 rows, but tiles of one row fetch 5.
    t = torch.tensor
    assert min_input_extent(t(5), t(1), t(2), t(1)).item() == 5


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 7), st.integers(1, 4), st.integers(1, 4), st.integers(1, 3))
def test_min_input_extent_between_touched_rows_and_the_box(p, r, stride, dilation):
    got = min_input_extent(*(torch.tensor(v) for v in (p, r, stride, dilation))).item()
    assert _touched_rows(p, r, stride, dilation) <= got <= (p - 1) * stride + (r - 1) * dilation + 1


def test_min_words_of_a_conv():
    # conv N1 G1 K2 C3 P4 Q4 R3 S3 stride 1: |W| = 2*3*9 = 54, |I| = 3*6*6 = 108, |O| = 2*16 = 32
    layer = Layer.conv(N=1, G=1, K=2, C=3, P=4, Q=4, R=3, S=3)
    assert min_words(_workload(layer)).tolist() == [[54, 108, 32]]


def test_golden_bounds_of_a_gemm():
    """gemm 4x4x4 on a 4x4 array, 16-bit words, glb_bw 4, dram_bw 2 (words per cycle)."""
    acc = Accelerator(pe_rows=4, pe_cols=4, rf_words=64, glb_words=4096, glb_bw=4.0,
                      dram_bw=2.0, word_bits=16)
    tech = Technology.default()
    b = lower_bounds(HardwareBatch.from_accelerators([acc]),
                     _workload(Layer.gemm(M=4, K=4, N=4)), tech)
    assert set(b) == set(BOUND_KEYS)
    assert all(v.shape == (1, 1) for v in b.values())
    # 64 MACs / 16 PEs = 4; W+I+O = 16+16+16 = 48 words: GLB 2*48/4 = 24, DRAM 48/2 = 24
    assert b["compute_cycles"].item() == 4.0
    assert b["glb_cycles"].item() == 24.0
    assert b["dram_cycles"].item() == 24.0
    assert b["cycles"].item() == 24.0
    bits = torch.tensor([16])
    rf = rf_access_pj(torch.tensor([64]), bits, tech, torch.float64).item()
    glb = glb_access_pj(torch.tensor([4096]), bits, tech, torch.float64).item()
    dram = dram_access_pj(bits, tech, torch.float64).item()
    # RF: 4 accesses per MAC + one fill of each tensor: 4*64 + 48 = 304 words
    assert b["rf_energy_pj"].item() == pytest.approx(304 * rf)
    assert b["glb_energy_pj"].item() == pytest.approx(96 * glb)
    assert b["dram_energy_pj"].item() == pytest.approx(48 * dram)
    assert b["mac_energy_pj"].item() == pytest.approx(64 * tech.mac_pj(16))
    parts = ("rf_energy_pj", "glb_energy_pj", "dram_energy_pj", "mac_energy_pj",
             "leakage_energy_pj")
    assert b["energy_pj"].item() == pytest.approx(sum(b[k].item() for k in parts))


def test_bounds_are_batched_over_designs():
    """Twice the PEs halves the compute bound; the DRAM bound follows dram_bw."""
    small = Accelerator(pe_rows=4, pe_cols=4, dram_bw=8.0)
    big = small.replace(pe_cols=8, dram_bw=4.0)
    layer = Layer.conv(N=1, G=1, K=8, C=8, P=4, Q=4, R=1, S=1)
    other = Layer.gemm(M=2, K=2, N=2)
    b = lower_bounds(HardwareBatch.from_accelerators([small, big]), _workload(layer, other))
    assert b["compute_cycles"].shape == (2, 2)
    # 1024 MACs / 16 PEs = 64, / 32 = 32; words 64 + 128 + 128 = 320 / 8 = 40, / 4 = 80
    assert b["compute_cycles"][:, 0].tolist() == [64.0, 32.0]
    assert b["dram_cycles"][:, 0].tolist() == [40.0, 80.0]


def test_the_optimal_gemm_mapping_meets_the_compute_bound():
    """A mapping that keeps the 4x4 array busy every cycle has a compute gap of exactly 1."""
    acc = Accelerator(pe_rows=4, pe_cols=4, dram_bw=64.0, glb_bw=64.0)
    layer = Layer.gemm(M=4, K=4, N=4)
    m = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                           "temporal": {"GLB": {"P": 4}}})
    hw, wl = HardwareBatch.from_accelerators([acc]), _workload(layer)
    res = AnalyticalCostModel().evaluate(hw, wl, MappingBatch.from_mappings([[m]]))
    b = lower_bounds(hw, wl)
    assert res.cycles.item() == b["cycles"].item() == 4.0


@settings(max_examples=60, deadline=None)
@given(cases())
def test_no_mapping_beats_the_bounds(case):
    """Every cycle bound, every energy part and every level's traffic respects its bound."""
    layer, mapping, acc = case
    hw, wl = HardwareBatch.from_accelerators([acc]), _workload(layer)
    res = AnalyticalCostModel().evaluate(hw, wl, MappingBatch.from_mappings([[mapping]]))
    b = lower_bounds(hw, wl)
    tol = 1 + 1e-9
    assert res.compute_cycles.item() * tol >= b["compute_cycles"].item()
    assert res.glb_cycles.item() * tol >= b["glb_cycles"].item()
    assert res.dram_cycles.item() * tol >= b["dram_cycles"].item()
    assert res.cycles.item() * tol >= b["cycles"].item()
    parts = res.energy_parts_pj[0, 0].tolist()   # RF, GLB, DRAM, MAC, leakage
    for got, key in zip(parts, ("rf_energy_pj", "glb_energy_pj", "dram_energy_pj",
                                "mac_energy_pj", "leakage_energy_pj"), strict=True):
        assert got * tol >= b[key].item(), key
    assert res.energy_pj.item() * tol >= b["energy_pj"].item()
    per_level = res.accesses[0, 0].sum(dim=(-2, -1)).tolist()          # RF, GLB, DRAM words
    words = sum(min_words(wl)[0].tolist())
    assert per_level[2] >= words
    assert per_level[1] >= 2 * words
    assert per_level[0] >= 4 * layer.macs + words


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_bounds_follow_the_device():
    hw = HardwareBatch.from_accelerators([Accelerator()], device="cuda")
    wl = _workload(Layer.gemm(M=4, K=4, N=4)).to("cuda")
    assert lower_bounds(hw, wl)["energy_pj"].device.type == "cuda"
