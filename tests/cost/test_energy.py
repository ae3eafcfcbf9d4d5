"""Energy per access, per MAC and leakage: hand-derived numbers, monotonicity, gradients."""

import pytest
import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.technology import Technology
from codesign.cost.energy import (
    access_energy_pj,
    dram_access_pj,
    energy_per_access_pj,
    glb_access_pj,
    leakage_energy_pj,
    mac_energy_pj,
    rf_access_pj,
)
from codesign.mapping.batch import HardwareBatch

TECH = Technology.default()


def _hw(*accelerators, dtype=torch.float64):
    return HardwareBatch.from_accelerators(list(accelerators), dtype=dtype)


def test_per_access_at_the_reference_points():
    # 64-bit words, 1024 words = 8 KiB: the SRAM fit's reference, 10.16 pJ per 64-bit access.
    # 16-bit words, 256 words per PE = 512 B: the RF anchor, 0.86 pJ (1x a 16-bit MAC).
    hw = _hw(Accelerator(rf_words=32, glb_words=1024, word_bits=64),
             Accelerator(rf_words=256, glb_words=4096, word_bits=16))
    per = energy_per_access_pj(hw, TECH)
    assert per.shape == (2, 3)
    assert per[0, 1].item() == pytest.approx(10.16)
    assert per[1, 0].item() == pytest.approx(0.86)
    # DRAM: 1300 pJ per 64 bits -> 1300 for 64-bit words, 325 for 16-bit words.
    assert per[:, 2].tolist() == pytest.approx([1300.0, 325.0])
    # 16-bit GLB of 4096 words = 8 KiB: a quarter of the 64-bit access, 10.16 / 4.
    assert per[1, 1].item() == pytest.approx(10.16 / 4)


def test_bigger_memories_cost_more_per_access():
    sizes = torch.tensor([1024, 4096, 65536, 1 << 20])
    bits = torch.full_like(sizes, 16)
    glb = glb_access_pj(sizes, bits, TECH)
    rf = rf_access_pj(sizes, bits, TECH)
    assert (glb.diff() > 0).all() and (rf.diff() > 0).all()
    # Wider words cost more per access at the same capacity in words.
    assert dram_access_pj(torch.tensor(16), TECH) < dram_access_pj(torch.tensor(32), TECH)


def test_access_energy_sums_tensors_and_directions():
    hw = _hw(Accelerator(rf_words=256, glb_words=4096, word_bits=16))
    accesses = torch.zeros(1, 2, 3, 3, 2, dtype=torch.int64)
    accesses[0, 0, 0, 0, 0] = 2   # RF, W reads
    accesses[0, 0, 0, 2, 1] = 3   # RF, O writes
    accesses[0, 1, 1, 1, 0] = 4   # GLB, I reads (layer 1)
    accesses[0, 1, 2, 2, 1] = 1   # DRAM, O writes (layer 1)
    energy = access_energy_pj(accesses, hw, TECH)
    assert energy.shape == (1, 2, 3) and energy.dtype == torch.float64
    # layer 0: 5 RF accesses x 0.86; layer 1: 4 x 10.16/4 on the GLB, 1 x 325 on DRAM.
    assert energy[0, 0].tolist() == pytest.approx([5 * 0.86, 0.0, 0.0])
    assert energy[0, 1].tolist() == pytest.approx([0.0, 10.16, 325.0])


def test_mac_energy_broadcasts_layers():
    hw = _hw(Accelerator(word_bits=8), Accelerator(word_bits=16))
    # 8-bit MAC 0.23 pJ, 16-bit 0.86 pJ (0.2 * 2**2 + 0.03 * 2).
    expected = torch.tensor([[0.23 * 10, 0.23 * 100], [0.86 * 10, 0.86 * 100]],
                            dtype=torch.float64)
    torch.testing.assert_close(mac_energy_pj(torch.tensor([10, 100]), hw, TECH), expected)
    per_design = torch.tensor([[10, 100], [10, 100]])
    torch.testing.assert_close(mac_energy_pj(per_design, hw, TECH), expected)


def test_leakage_is_power_times_time():
    # Only the 1 mm^2 fixed area is left, so leakage power is 2 mW; 1000 cycles at 1000 MHz
    # is 1 us; 2 mW x 1 us = 2 nJ = 2000 pJ. At 500 MHz the same cycles take twice as long.
    tech = Technology(mult_um2_8b=0.0, add_um2_8b=0.0, rf_um2_per_bit=0.0, pe_overhead_um2=0.0,
                      sram_cell_um2=0.0, fixed_area_mm2=1.0, leakage_mw_per_mm2=2.0)
    hw = _hw(Accelerator(clock_mhz=1000.0), Accelerator(clock_mhz=500.0))
    cycles = torch.tensor([[1000, 0], [1000, 500]])
    torch.testing.assert_close(leakage_energy_pj(cycles, hw, tech), torch.tensor(
        [[2000.0, 0.0], [4000.0, 2000.0]], dtype=torch.float64))
    assert leakage_energy_pj(torch.tensor([1000, 1000]), hw, tech).tolist() == pytest.approx(
        [2000.0, 4000.0])


def test_dtype_follows_hardware():
    hw = _hw(Accelerator(), dtype=torch.float32)
    accesses = torch.ones(1, 1, 3, 3, 2, dtype=torch.int64)
    assert access_energy_pj(accesses, hw, TECH).dtype == torch.float32
    assert mac_energy_pj(torch.tensor([5]), hw, TECH).dtype == torch.float32
    assert leakage_energy_pj(torch.tensor([[5]]), hw, TECH).dtype == torch.float32


def test_gradients_finite_for_float_inputs():
    hw = _hw(Accelerator(rf_words=64, glb_words=65536))
    glb_words = hw.glb_words.to(torch.float64).requires_grad_()
    rf_words = hw.rf_words.to(torch.float64).requires_grad_()
    relaxed = HardwareBatch(**{**hw.__dict__, "glb_words": glb_words, "rf_words": rf_words})
    accesses = torch.rand(1, 2, 3, 3, 2, dtype=torch.float64, requires_grad=True)
    total = (access_energy_pj(accesses, relaxed, TECH).sum()
             + leakage_energy_pj(torch.tensor([[100.0, 50.0]], dtype=torch.float64),
                                 relaxed, TECH).sum())
    total.backward()
    for grad in (glb_words.grad, rf_words.grad, accesses.grad):
        assert grad is not None and torch.isfinite(grad).all() and (grad > 0).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_runs_on_cuda():
    hw = _hw(Accelerator()).to("cuda")
    accesses = torch.ones(1, 1, 3, 3, 2, dtype=torch.int64, device="cuda")
    assert access_energy_pj(accesses, hw, TECH).device.type == "cuda"
