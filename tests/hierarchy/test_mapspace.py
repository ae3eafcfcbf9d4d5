"""`MapSpace`: any genes decode to a valid mapping; constraints hold; moves stay valid."""

from __future__ import annotations

import random

import pytest
import torch
from mapspace_oracle import enumerate_mappings, random_hierarchy, random_layer

from codesign.errors import MappingError
from codesign.hierarchy import FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.mapspace import Genes, MapConstraints, MapSpace, prime_factors
from codesign.hierarchy.model import spatial_feasible
from codesign.workload.layer import DIM_INDEX, DIMS, Layer


def _garbage(space: MapSpace, n_c: int, gen: torch.Generator) -> Genes:
    """Genes no decoder should trust: any slot for any prime, any keep bit."""
    n_l, n_d, n_p = space.primes.shape
    n_f, n_m = len(space.hierarchy.slots), len(space.hierarchy.levels)
    return Genes(torch.randint(0, n_f, (1, n_l, n_c, n_d, n_p), generator=gen),
                 torch.rand(1, n_l, n_c, n_m, n_d, generator=gen, dtype=torch.float64),
                 torch.rand(1, n_l, n_c, n_m, 3, generator=gen) < 0.5)


def _check_valid(space: MapSpace, genes: Genes) -> None:
    n_c = genes.slot.shape[2]
    batch = space.decode(space.repair(genes))
    dims = space.rows(n_c)[2]
    # exact cover (no padding) and every fan-out axis within its size and dims
    assert torch.equal(batch.factors.prod(-2)[0], dims)
    assert spatial_feasible(space.hierarchy, batch.factors).all()
    assert torch.equal(batch.order.sort(-1).values,
                       torch.arange(len(DIMS)).expand_as(batch.order))
    if batch.keep is not None:
        fixed = ~space.choice
        assert torch.equal(batch.keep[..., fixed], space.keep_mask[fixed].expand(
            *batch.keep.shape[:2], -1))


@pytest.mark.parametrize("seed", range(6))
def test_any_genes_decode_to_a_valid_mapping(seed):
    rng = random.Random(seed)
    h = random_hierarchy(rng)
    space = MapSpace(h, [random_layer(rng, 6) for _ in range(3)])
    gen = torch.Generator().manual_seed(seed)
    _check_valid(space, _garbage(space, 50, gen))
    genes = space.random(1, 50, gen)
    for _ in range(5):
        genes = space.mutate(genes, gen)
        _check_valid(space, genes)
    _check_valid(space, space.crossover(genes, space.random(1, 50, gen), gen))
    _check_valid(space, space.seeds(1))


def test_random_genes_reach_every_mapping_of_a_tiny_space():
    """The decoder is onto: random genes hit every factor/keep combination the oracle
    enumerates (orders aside)."""
    h = Hierarchy("t", (StorageLevel("DRAM"), FanOut("F", x=2, x_dims=("K",)),
                        StorageLevel("RF", capacity_words=64, bypass_choice=("W",))))
    layer = Layer.conv(K=4, C=1, P=3, Q=1, R=1, S=1)
    space = MapSpace(h, [layer])
    batch = space.decode(space.random(1, 2000, torch.Generator().manual_seed(0)))
    got = {(tuple(f.flatten().tolist()), tuple(k.flatten().tolist()))
           for f, k in zip(batch.factors[0], batch.keep[0], strict=True)}
    full = enumerate_mappings(h, layer)
    want = {(tuple(f.flatten().tolist()), tuple(k.flatten().tolist()))
            for f, k in zip(full.factors[0], full.keep[0], strict=True)}
    assert got == want


def test_constraints_fix_factors_pin_orders_and_keeps():
    h = Hierarchy("t", (StorageLevel("DRAM"), StorageLevel("GLB", capacity_words=999,
                                                            bypass_choice=("W", "I", "O")),
                        FanOut("PE", x=4, y=4),
                        StorageLevel("RF", capacity_words=99, bypass_choice=("W", "I", "O"))))
    cons = MapConstraints(factors={"GLB": {"P": 4, "R": 1}, "PE.X": {"C": 2}},
                          innermost={"RF": ("R", "P")}, keep={"RF": ("O",)},
                          bypass={"GLB": ("W",)}, spatial_dims={"PE.Y": ("K",)})
    layer = Layer.conv(K=8, C=4, P=8, Q=1, R=3, S=1)
    space = MapSpace(h, [layer], cons)
    genes = space.random(1, 300, torch.Generator().manual_seed(1))
    batch = space.decode(genes)
    f = batch.factors[0]
    glb, x, y = (h.slot_index(n) for n in ("GLB", "PE.X", "PE.Y"))
    assert (f[:, glb, DIM_INDEX["P"]] == 4).all() and (f[:, glb, DIM_INDEX["R"]] == 1).all()
    assert (f[:, x, DIM_INDEX["C"]] == 2).all()
    others = [i for i, d in enumerate(DIMS) if d != "K"]
    assert (f[:, y, others] == 1).all()
    rf = h.level_index("RF")
    assert (batch.order[0, :, rf, -2:] == torch.tensor([DIM_INDEX["P"], DIM_INDEX["R"]])).all()
    glb_m = h.level_index("GLB")
    assert not batch.keep[0, :, glb_m, 0].any() and batch.keep[0, :, rf, 2].all()
    assert batch.keep[0, :, rf, 0].any() and not batch.keep[0, :, rf, 0].all()   # still free
    assert torch.equal(f.prod(-2), space.rows(300)[2])


def test_constraints_name_what_is_wrong():
    h = Hierarchy("t", (StorageLevel("DRAM"), StorageLevel("RF", keeps=("W",))))
    with pytest.raises(MappingError, match="unknown 'GLB'"):
        MapSpace(h, [Layer.gemm(M=2, K=2, N=2)], MapConstraints(factors={"GLB": {"K": 2}}))
    with pytest.raises(MappingError, match="makes it bypass"):
        MapConstraints(keep={"RF": ("I",)}).check(h)
    with pytest.raises(MappingError, match="outermost level keeps"):
        MapConstraints(bypass={"DRAM": ("I",)}).check(h)


def test_prime_factors():
    assert prime_factors(224) == [2, 2, 2, 2, 2, 7] and prime_factors(97) == [97]
