"""Hand-checked costs of small hierarchies: multicast, reduction, network, area, feasibility.

The layer is a 1-D conv, K=4 C=1 R=3 P=8 (weights 12, inputs 10, outputs 32); the mapping
puts K on the 4 PEs and R3 P8 in each PE's RF, so each PE fetches its 3 weights, all 10
inputs and drains its 8 outputs once.
"""

from __future__ import annotations

import pytest
import torch

from codesign.arch.technology import Technology
from codesign.cost.levels import with_technology
from codesign.hierarchy import Compute, FanOut, Hierarchy, LoopNest, NestBatch, StorageLevel
from codesign.hierarchy.model import nest_cost
from codesign.workload.layer import Layer

LAYER = Layer.conv(K=4, C=1, P=8, Q=1, R=3, S=1)
NEST = LoopNest({"PE.X": {"K": 4}, "RF": {"R": 3, "P": 8}})


def _hierarchy(**fanout) -> Hierarchy:
    return Hierarchy("toy", (
        StorageLevel("DRAM", read_pj=100.0, fill_pj=100.0, update_pj=100.0),
        StorageLevel("GLB", capacity_words=1024, read_pj=5.0, fill_pj=5.0, update_pj=5.0),
        FanOut("PE", x=4, **fanout),
        StorageLevel("RF", capacity_words=64, read_pj=0.5, fill_pj=0.5, update_pj=0.5)),
        Compute(mac_pj=1.0))


def _cost(h: Hierarchy, nest: LoopNest = NEST, layer: Layer = LAYER):
    batch = NestBatch.from_nests(h, [[nest]])
    dims = torch.tensor([layer.dims])
    return nest_cost(h, batch, torch.tensor([layer.stride]), torch.tensor([layer.dilation]),
                     dims=dims)


def _counts(cost, level: str, h: Hierarchy) -> dict:
    m = h.level_index(level)
    c = cost.counts
    return {t: (int(c.reads[0, 0, m, i]), int(c.fills[0, 0, m, i]), int(c.updates[0, 0, m, i]))
            for i, t in enumerate("WIO")}


def test_multicast_reads_shared_inputs_once():
    h = _hierarchy()
    cost = _cost(h)
    # GLB serves W 3 x 4 PEs, I 10 once (multicast to the 4 PEs), O: 32 drained updates,
    # 0 psum reads back (each output's first and only visit)
    assert _counts(cost, "GLB", h) == {"W": (12, 12, 0), "I": (10, 10, 0), "O": (0, 0, 32)}
    assert _counts(cost, "RF", h) == {"W": (96, 12, 0), "I": (96, 40, 0), "O": (64, 0, 96)}
    assert int(cost.counts.computes[0, 0]) == 96 and int(cost.cycles[0, 0]) == 24


def test_without_multicast_each_pe_reads_its_own_copy():
    h = _hierarchy(multicast=False)
    assert _counts(_cost(h), "GLB", h)["I"] == (40, 10, 0)


def test_without_reduction_each_pe_updates_its_own_partial_sums():
    """C=4 on the PEs: the 4 partial sums of each output add up on the way (reduce) or
    arrive separately."""
    layer = Layer.conv(K=1, C=4, P=8, Q=1, R=3, S=1)
    nest = LoopNest({"PE.X": {"C": 4}, "RF": {"R": 3, "P": 8}})
    reduced = _counts(_cost(_hierarchy(), nest, layer), "GLB", _hierarchy())["O"]
    separate = _counts(_cost(_hierarchy(reduce=False), nest, layer), "GLB", _hierarchy())["O"]
    assert reduced == (0, 0, 8) and separate == (24, 0, 32)


def test_network_energy_counts_the_words_crossing_the_fanout():
    cost = _cost(_hierarchy(hop_pj=2.0))
    # into the PEs: W 12, I 40 (each PE receives the multicast 10); outputs drained: 32
    assert int(cost.counts.fanout_words[0, 0, 0]) == 12 + 40 + 32
    assert float(cost.network_energy_pj[0, 0]) == pytest.approx(2.0 * 84)
    plain = _cost(_hierarchy())
    assert float(cost.energy_pj[0, 0] - plain.energy_pj[0, 0]) == pytest.approx(168.0)


def test_energy_by_level_is_blocks_times_action_energy():
    cost = _cost(_hierarchy())
    by_level = cost.energy_by_level_pj()[0, 0].tolist()
    assert by_level[0] == pytest.approx(100.0 * (12 + 10 + 32))   # DRAM reads W, I; O updates
    assert by_level[1] == pytest.approx(5.0 * (12 + 12 + 10 + 10 + 32))
    assert float(cost.compute_energy_pj[0, 0]) == 96.0


def test_feasibility_sizes_dims_and_coverage():
    h = _hierarchy(x_dims=("K",))
    assert bool(_cost(h).feasible[0, 0])
    too_wide = LoopNest({"PE.X": {"K": 8}, "RF": {"R": 3, "P": 8}})
    assert not bool(_cost(_hierarchy(), too_wide, Layer.conv(K=8, C=1, P=8, Q=1, R=3)
                          ).feasible[0, 0])
    banned = LoopNest({"PE.X": {"P": 4}, "RF": {"R": 3, "P": 2, "K": 4}})
    assert not bool(_cost(h, banned).feasible[0, 0])
    short = LoopNest({"PE.X": {"K": 4}, "RF": {"R": 3, "P": 4}})
    assert not bool(_cost(_hierarchy(), short).feasible[0, 0])
    small = Hierarchy("small", (StorageLevel("DRAM"), StorageLevel("RF", capacity_words=8)))
    over = _cost(small, LoopNest({"RF": {"R": 3, "P": 8, "K": 4}}))
    assert not bool(over.feasible[0, 0])
    assert float(over.capacity_excess[0, 0, 1]) == 12 + 10 + 32 - 8


def test_partitions_are_checked_per_tensor():
    h = Hierarchy("parts", (StorageLevel("DRAM"), StorageLevel(
        "RF", partition_words={"W": 12, "I": 10, "O": 31})))
    cost = _cost(h, LoopNest({"RF": {"R": 3, "P": 8, "K": 4}}))
    assert float(cost.capacity_excess[0, 0, 1]) == 1.0      # outputs 32 > 31


def test_technology_fills_in_energies_and_area():
    tech = Technology.default()
    h = with_technology(_hierarchy(), tech)
    # given energies are kept; areas come from the table
    assert h.levels[0].read_pj == 100.0
    bare = Hierarchy("bare", (StorageLevel("DRAM"), StorageLevel("GLB", capacity_words=1 << 16),
                              FanOut("PE", x=4), StorageLevel("RF", capacity_words=64)))
    filled = with_technology(bare, tech)
    dram, glb, rf = filled.levels
    assert dram.read_pj == pytest.approx(tech.dram_pj_64b * 16 / 64)
    assert rf.read_pj < glb.read_pj < dram.read_pj
    assert filled.compute.mac_pj > 0
    assert filled.area_mm2 == pytest.approx(
        (glb.area_um2 + 4 * rf.area_um2 + 4 * filled.compute.area_um2) * 1e-6)
    assert rf.area_um2 == 64 * 16 * tech.rf_um2_per_bit


def test_relaxed_factors_give_gradients():
    """Float factors (a continuous relaxation) flow through the counts and the energy."""
    h = _hierarchy()
    batch = NestBatch.from_nests(h, [[NEST]])
    factors = batch.factors.to(torch.float64).requires_grad_(True)
    cost = nest_cost(h, NestBatch(factors, batch.order, batch.keep),
                     torch.tensor([LAYER.stride]), torch.tensor([LAYER.dilation]))
    exact = _cost(h)
    assert float(cost.energy_pj.detach()[0, 0]) == pytest.approx(float(exact.energy_pj[0, 0]))
    cost.energy_pj.sum().backward()
    assert torch.isfinite(factors.grad).all() and factors.grad.abs().sum() > 0


@pytest.mark.cuda
def test_cuda_gives_the_cpu_counts():
    if not torch.cuda.is_available():
        pytest.skip("needs CUDA")
    h = _hierarchy(hop_pj=1.0)
    cpu = _cost(h)
    batch = NestBatch.from_nests(h, [[NEST]], device="cuda")
    gpu = nest_cost(h, batch, torch.tensor([LAYER.stride], device="cuda"),
                    torch.tensor([LAYER.dilation], device="cuda"),
                    dims=torch.tensor([LAYER.dims], device="cuda"))
    for name in ("reads", "fills", "updates"):
        assert torch.equal(getattr(gpu.counts, name).cpu(), getattr(cpu.counts, name))
    assert torch.allclose(gpu.energy_pj.cpu(), cpu.energy_pj)
