"""Cycle bounds on hand-sized numbers."""

import torch

from codesign import Accelerator
from codesign.cost.latency import bandwidth_cycles, compute_cycles, latency_cycles, utilization
from codesign.mapping.batch import HardwareBatch

HW = HardwareBatch.from_accelerators([Accelerator(pe_rows=2, pe_cols=4, glb_bw=4.0,
                                                  dram_bw=2.0)])


def test_compute_cycles_multiply_temporal_factors_only():
    factors = torch.ones(1, 1, 5, 8, dtype=torch.int64)
    factors[0, 0, 0, 2] = 3    # DRAM K
    factors[0, 0, 1, 4] = 5    # GLB P
    factors[0, 0, 2, 3] = 7    # rows C: spatial, costs no cycles
    factors[0, 0, 4, 6] = 2    # RF R
    assert compute_cycles(factors, HW).tolist() == [[30.0]]   # 3 * 5 * 2


def test_bandwidth_cycles_sum_reads_and_writes_of_every_tensor():
    acc = torch.zeros(1, 1, 3, 3, 2, dtype=torch.int64)
    acc[0, 0, 0] = 1000                        # RF traffic costs no bandwidth
    acc[0, 0, 1] = torch.tensor([[1, 2], [3, 4], [5, 6]])   # GLB: 21 words / 4
    acc[0, 0, 2] = torch.tensor([[1, 0], [2, 0], [0, 3]])   # DRAM: 6 words / 2
    glb, dram = bandwidth_cycles(acc, HW)
    assert glb.tolist() == [[5.25]] and dram.tolist() == [[3.0]]


def test_latency_is_the_largest_bound():
    c, g, d = (torch.tensor([[5.0, 1.0, 1.0]]), torch.tensor([[1.0, 6.0, 1.0]]),
               torch.tensor([[1.0, 1.0, 7.0]]))
    assert latency_cycles(c, g, d).tolist() == [[5.0, 6.0, 7.0]]


def test_utilization_uses_the_physical_array():
    # 16 useful MACs in 4 cycles on 2 x 4 = 8 PEs -> 16 / 32
    assert utilization(torch.tensor([16]), torch.tensor([[4.0]]), HW).tolist() == [[0.5]]
