"""Vector-op cost: compute- and transfer-bound cases by hand, sums over ops, empty workloads."""

import pytest
import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.technology import Technology
from codesign.cost.energy import dram_access_pj, glb_access_pj, mac_pj
from codesign.cost.vector import vector_cost
from codesign.mapping.batch import HardwareBatch, WorkloadTensors
from codesign.workload.layer import Layer, LayerTable, VectorOp

TECH = Technology.default()


def _workload(*ops):
    return WorkloadTensors.from_table(
        LayerTable.from_layers([Layer.gemm(M=2, K=2, N=2)], list(ops)))


def _op(ops, words, name="v"):
    """A vector op of ``ops`` operations moving ``words`` words (float32 in the model)."""
    return VectorOp(name, "Relu", elements=ops, bytes_in=2 * words, bytes_out=2 * words,
                    ops=ops, words=words)


def test_compute_bound_and_transfer_bound():
    hw = HardwareBatch.from_accelerators([Accelerator(pe_cols=16, dram_bw=8.0, word_bits=16)])
    # 1600 ops / 16 lanes = 100 cycles; 200 words / 8 = 25 cycles -> 100.
    cycles, _ = vector_cost(hw, _workload(_op(1600, 200)), TECH)
    assert cycles.tolist() == [100.0]
    # 16 ops / 16 = 1 cycle; 1600 words / 8 = 200 cycles -> 200.
    cycles, _ = vector_cost(hw, _workload(_op(16, 1600)), TECH)
    assert cycles.tolist() == [200.0]
    # Both ops: they run one after another, 100 + 200.
    cycles, _ = vector_cost(hw, _workload(_op(1600, 200), _op(16, 1600)), TECH)
    assert cycles.tolist() == [300.0]


def test_energy_by_hand():
    acc = Accelerator(pe_cols=16, dram_bw=8.0, word_bits=16, glb_words=4096)
    hw = HardwareBatch.from_accelerators([acc])
    _, energy = vector_cost(hw, _workload(_op(1600, 200)), TECH)
    # 1600 ops x 0.86 pJ + 200 words x (325 pJ DRAM + 10.16 / 4 pJ GLB of 8 KiB).
    assert energy.item() == pytest.approx(1600 * 0.86 + 200 * (325 + 10.16 / 4))
    bits = torch.tensor([16])
    per_word = dram_access_pj(bits, TECH) + glb_access_pj(torch.tensor([4096]), bits, TECH)
    assert energy.item() == pytest.approx(1600 * mac_pj(bits, TECH).item() + 200 * per_word.item())


def test_data_movement_op_costs_transfer_only():
    hw = HardwareBatch.from_accelerators([Accelerator(dram_bw=4.0, word_bits=8)])
    transpose = VectorOp("t", "Transpose", elements=64, bytes_in=256, bytes_out=256, ops=0,
                         words=128)
    cycles, energy = vector_cost(hw, _workload(transpose), TECH)
    assert cycles.item() == pytest.approx(128 / 4)  # 64 words in, 64 out, at 4 per cycle
    assert energy.item() == pytest.approx(
        128 * (dram_access_pj(torch.tensor(8), TECH).item()
               + glb_access_pj(torch.tensor([65536]), torch.tensor([8]), TECH).item()))


def test_batched_designs_and_wider_arrays_are_faster():
    hw = HardwareBatch.from_accelerators([Accelerator(pe_cols=8), Accelerator(pe_cols=32)])
    cycles, energy = vector_cost(hw, _workload(_op(3200, 2)), TECH)
    assert cycles.tolist() == [400.0, 100.0]
    assert energy.shape == (2,)


def test_no_vector_ops_costs_nothing():
    hw = HardwareBatch.from_accelerators([Accelerator(), Accelerator()])
    cycles, energy = vector_cost(hw, _workload(), TECH)
    assert cycles.tolist() == [0.0, 0.0] and energy.tolist() == [0.0, 0.0]


def test_gradient_finite_for_float_bandwidth():
    hw = HardwareBatch.from_accelerators([Accelerator(dram_bw=2.0)])
    bw = hw.dram_bw.clone().requires_grad_()
    relaxed = HardwareBatch(**{**hw.__dict__, "dram_bw": bw})
    cycles, _ = vector_cost(relaxed, _workload(_op(1, 400)), TECH)
    cycles.sum().backward()
    # cycles = 400 words / bw -> d/d bw = -400 / bw**2 = -100.
    assert bw.grad.item() == pytest.approx(-100.0)
