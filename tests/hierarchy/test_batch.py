"""`HierarchyBatch`: B hierarchies of one structure in one call give exactly B single calls."""

from dataclasses import replace

import pytest
import torch

from codesign.cost.levels import with_technology
from codesign.errors import ArchError, MappingError
from codesign.hierarchy.batch import HierarchyBatch, envelope
from codesign.hierarchy.genome import from_unit, genes_of, n_unit_genes
from codesign.hierarchy.levels import FanOut, StorageLevel
from codesign.hierarchy.mapper import search
from codesign.hierarchy.mapspace import MapSpace
from codesign.hierarchy.model import nest_cost, spatial_feasible
from codesign.hierarchy.nest import NestBatch
from codesign.hierarchy.presets import eyeriss
from codesign.workload.layer import Layer

LAYERS = [Layer.conv(K=16, C=8, P=14, Q=14, R=3, S=3), Layer.gemm(M=12, K=32, N=24)]


def _variant(h, glb_words, x, y, bw, glb_keeps, x_dims):
    nodes = []
    for node in h.nodes:
        if isinstance(node, FanOut):
            node = replace(node, x=x, y=y, x_dims=x_dims)
        elif node.name == "GLB":
            node = replace(node, capacity_words=glb_words, shared_bw=bw, keeps=glb_keeps)
        nodes.append(node)
    return with_technology(replace(h, nodes=tuple(nodes)))


def _designs():
    h = eyeriss()
    return [_variant(h, 54 * 1024, 14, 12, 12.0, ("I", "O"), ("P", "Q")),
            _variant(h, 2048, 4, 16, 2.0, ("W", "I", "O"), ("P", "Q", "K")),
            _variant(h, 512, 32, 2, 64.0, ("I",), None)]


def _nests(batch, n_c=6, seed=0):
    space = MapSpace(batch, LAYERS).with_designs(batch)
    gen = torch.Generator().manual_seed(seed)
    genes = space.random(batch.n_designs, n_c, gen)
    return space, space.decode(genes), space.rows(n_c)


def test_a_batch_costs_exactly_what_each_hierarchy_costs_alone():
    hs = _designs()
    batch = HierarchyBatch.stack(hs)
    assert batch.varied_keep
    space, nests, (stride, dilation, dims) = _nests(batch)
    together = nest_cost(batch, nests, stride, dilation, dims=dims)
    for b, h in enumerate(hs):
        one = NestBatch(nests.factors[b:b + 1], nests.order[b:b + 1],
                        None if nests.keep is None else nests.keep[b:b + 1])
        alone = nest_cost(h, one, stride, dilation, dims=dims)
        for name in ("cycles", "level_cycles", "energy_pj", "level_energy_pj", "leak_pj",
                     "feasible", "capacity_excess", "network_energy_pj"):
            assert torch.equal(getattr(together, name)[b:b + 1], getattr(alone, name)), name
        assert together.area_mm2[b].item() == pytest.approx(h.area_mm2, rel=1e-12)


def test_a_plain_hierarchy_is_a_batch_of_one_broadcast():
    h = _designs()[0]
    _, nests, (stride, dilation, dims) = _nests(HierarchyBatch.stack([h, h]))
    plain = nest_cost(h, nests, stride, dilation, dims=dims)
    batched = nest_cost(HierarchyBatch.of(h), nests, stride, dilation, dims=dims)
    assert torch.equal(plain.energy_pj, batched.energy_pj)
    assert torch.equal(plain.cycles, batched.cycles)
    assert isinstance(plain.area_mm2, float)


def test_each_design_gets_mappings_that_fit_its_own_array():
    hs = _designs()
    batch = HierarchyBatch.stack(hs)
    space = MapSpace(batch, LAYERS).with_designs(batch)
    genes, key = search(space, effort="fast", seed=1)
    assert key.shape == (3, len(LAYERS))
    nests = space.decode(genes)
    for b, h in enumerate(hs):
        ok = spatial_feasible(h, nests.factors[b:b + 1], space.dims)
        assert ok.all(), b
    # design 2's GLB keeps only inputs: its decoded keep bits say so
    glb = space.hierarchy.level_index("GLB")
    assert nests.keep[2, :, glb].tolist() == [[False, True, False]] * len(LAYERS)


def test_envelope_and_round_trip():
    hs = _designs()
    batch = HierarchyBatch.stack(hs)
    env = envelope(batch)
    pe = env.fanouts[0]
    assert (pe.x, pe.y) == (32, 16) and pe.x_dims is None     # the largest, every dim
    assert env.levels[1].keeps == ("W", "I", "O")
    again = batch.hierarchy(1)
    assert again.levels[1].capacity_words == 2048 and again.fanouts[0].x_dims == ("K", "P", "Q")
    assert again.area_mm2 == pytest.approx(hs[1].area_mm2, rel=1e-12)
    one, two = HierarchyBatch.of(again), HierarchyBatch.of(hs[1])
    assert torch.equal(one.read_pj, two.read_pj) and torch.equal(one.keep, two.keep)


def test_designs_must_share_the_structure():
    h = eyeriss()
    other = replace(h, nodes=h.nodes[:2] + (StorageLevel("RF", capacity_words=8),))
    with pytest.raises(ArchError, match="structure"):
        HierarchyBatch.stack([h, other])
    space = MapSpace(h, LAYERS)
    with pytest.raises(MappingError, match="structure"):
        space.with_designs(HierarchyBatch.of(other))


def test_genes_of_decoded_mappings_decode_to_them_again():
    hs = _designs()
    batch = HierarchyBatch.stack(hs)
    space, nests, _ = _nests(batch, n_c=1, seed=3)
    n_l = len(LAYERS)
    fac = nests.factors.reshape(3, n_l, *nests.factors.shape[2:])
    order = nests.order.reshape(3, n_l, *nests.order.shape[2:])
    again = space.decode(genes_of(space, fac, order))
    assert torch.equal(again.factors, nests.factors)
    # orders agree on the dims that have a loop (the others' place does not matter)
    loops = fac.gt(1)[:, :, list(space.hierarchy.temporal_slots)].tolist()   # [B, L, M, D]
    for o1, o2, lp in ((again.order.reshape(order.shape).tolist(), order.tolist(), loops),):
        for b in range(3):
            for j in range(n_l):
                for m, row in enumerate(lp[b][j]):
                    assert [d for d in o1[b][j][m] if row[d]] == \
                        [d for d in o2[b][j][m] if row[d]]


def test_a_search_from_given_mappings_is_never_worse_than_them():
    hs = _designs()
    batch = HierarchyBatch.stack(hs)
    space, nests, (stride, dilation, dims) = _nests(batch, n_c=1, seed=4)
    start = nest_cost(batch, nests, stride, dilation, dims=dims)
    n_l = len(LAYERS)
    genes = genes_of(space, nests.factors.reshape(3, n_l, *nests.factors.shape[2:]),
                           nests.order.reshape(3, n_l, *nests.order.shape[2:]))
    best, _ = search(space, "energy", "fast", seed=0, initial=genes)
    found = nest_cost(batch, space.decode(best), stride, dilation, dims=dims)
    ok = start.feasible
    assert (found.feasible | ~ok).all()
    assert (found.energy_pj[ok] <= start.energy_pj[ok] * (1 + 1e-9)).all()


def test_unit_genes_decode_to_valid_mappings_of_each_design():
    hs = _designs()
    batch = HierarchyBatch.stack(hs)
    space = MapSpace(batch, LAYERS).with_designs(batch)
    gen = torch.Generator().manual_seed(5)
    unit = torch.rand(3, len(LAYERS), n_unit_genes(space), generator=gen, dtype=torch.float64)
    unit[0] = 0.0
    unit[1] = 1.0
    nests = space.decode(from_unit(space, unit))
    assert (nests.factors.prod(-2) >= space.dims).all()     # every layer covered
    for b, h in enumerate(hs):
        assert spatial_feasible(h, nests.factors[b:b + 1], space.dims).all(), b
