"""Area: hand-derived numbers, monotonicity in every size, gradients."""

import math

import pytest
import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.presets import load_preset
from codesign.arch.technology import Technology
from codesign.cost.area import area_breakdown_mm2, area_mm2, mac_area_um2, pe_area_um2
from codesign.mapping.batch import HardwareBatch

TECH = Technology.default()


def _hw(*accelerators):
    return HardwareBatch.from_accelerators(list(accelerators))


def test_mac_area_hits_horowitz_points():
    # [H14]: 8-bit mult 282 + add 36 um^2; 32-bit mult 3495 + add 137 um^2.
    area = mac_area_um2(torch.tensor([8, 32]), TECH)
    assert area.tolist() == pytest.approx([318.0, 3495.0 + 137.0], rel=0.01)


def test_eyeriss_by_hand():
    acc = load_preset("eyeriss")
    # PE: 16-bit MAC 282 * 2**1.816 + 36 * 2**0.964 um^2, RF 256 x 16 bits x 2.0 um^2, +200.
    mac = 282 * 2**1.816 + 36 * 2**0.964
    pe = mac + 256 * 16 * 2.0 + 200
    glb = 55296 * 16 * 0.346 / 0.5 / 1e6
    expected = 168 * pe / 1e6 + glb + 0.25
    hw = _hw(acc)
    assert pe_area_um2(hw, TECH).item() == pytest.approx(pe)
    assert area_mm2(hw, TECH).item() == pytest.approx(expected)
    # Plausibility: Eyeriss's core is 12.25 mm^2 in 65 nm, ~5.9 mm^2 scaled by (45/65)^2; our
    # estimate (no NoC, no I/O) is within a factor of 3 of that.
    assert 5.9 / 3 < expected < 5.9 * 3


def test_breakdown_sums_to_total():
    hw = _hw(Accelerator(), load_preset("tpu"))
    parts = area_breakdown_mm2(hw, TECH)
    assert parts.shape == (2, 3)
    assert parts.sum(-1).tolist() == pytest.approx(area_mm2(hw, TECH).tolist())
    assert parts[:, 2].tolist() == [0.25, 0.25]


@pytest.mark.parametrize("key, small, large", [("glb_words", 1024, 65536), ("rf_words", 8, 512),
                                               ("pe_rows", 4, 32), ("word_bits", 8, 16)])
def test_more_hardware_more_area(key, small, large):
    hw = _hw(Accelerator(**{key: small}), Accelerator(**{key: large}))
    area = area_mm2(hw, TECH)
    assert area[0] < area[1]


def test_glb_area_linear_in_capacity():
    hw = _hw(Accelerator(glb_words=1 << 16), Accelerator(glb_words=1 << 17))
    glb = area_breakdown_mm2(hw, TECH)[:, 1]
    assert glb[1].item() == pytest.approx(2 * glb[0].item())


def test_gradients_finite_for_float_sizes():
    hw = _hw(Accelerator())
    glb = hw.glb_words.to(torch.float64).requires_grad_()
    relaxed = HardwareBatch(**{**hw.__dict__, "glb_words": glb})
    area_mm2(relaxed, TECH).sum().backward()
    # d area / d glb_words = 16 bits x 0.692 um^2 per bit / 1e6.
    assert glb.grad.item() == pytest.approx(16 * 0.346 / 0.5 / 1e6)
    assert math.isfinite(glb.grad.item())
