"""Random small hierarchies with enumerable mapspaces, and the exhaustive oracle.

The oracle is written from the hierarchy alone (not from `MapSpace`): every assignment of
every prime factor of every dim to a slot the dim may use (a fan-out axis of size > 1
allowing it, or any level), every order of the dims with a loop at each level, every keep
choice the architecture leaves open; the fan-out sizes filter the assignments.
"""

from __future__ import annotations

import itertools
import math
import random

import torch

from codesign.hierarchy import Compute, FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.mapspace import prime_factors
from codesign.hierarchy.model import nest_cost
from codesign.hierarchy.nest import NestBatch
from codesign.workload.layer import DIMS, TENSORS, Layer


def random_hierarchy(rng: random.Random) -> Hierarchy:
    """2-4 storage levels, 1-2 fan-outs, small capacities, up to two bypass choices."""
    n_levels = rng.randint(2, 4)
    n_fan = rng.randint(1, 2)
    gaps = sorted(rng.sample(range(1, n_levels + 1), min(n_fan, n_levels)))
    nodes: list = []
    n_choice = 0
    for m in range(n_levels):
        if m in gaps:
            x, y = rng.choice([(2, 1), (4, 1), (2, 2), (1, 2), (3, 1)])
            dims = rng.choice([None, ("K",), ("K", "P"), ("C", "P")])
            nodes.append(FanOut(f"F{m}", x=x, y=y, x_dims=dims,
                                y_dims=rng.choice([None, ("K",), ("C",)]),
                                hop_pj=rng.choice([0.0, 0.5])))
        scale = 4.0 ** (n_levels - 1 - m)
        if m == 0:
            nodes.append(StorageLevel("L0", read_pj=20 * scale, fill_pj=20 * scale,
                                      update_pj=20 * scale,
                                      shared_bw=rng.choice([None, 2.0, 4.0])))
            continue
        keeps = TENSORS if rng.random() < 0.6 else tuple(
            t for t in TENSORS if rng.random() < 0.7) or ("O",)
        choice = ()
        if n_choice < 2 and rng.random() < 0.5:
            choice = (rng.choice(keeps),)
            n_choice += 1
        nodes.append(StorageLevel(
            f"L{m}", keeps=keeps, capacity_words=rng.choice([4, 8, 16, 32]) * (n_levels - m),
            read_pj=scale * rng.uniform(0.5, 2), fill_pj=scale * rng.uniform(0.5, 2),
            update_pj=scale * rng.uniform(0.5, 2), leak_pj=rng.choice([0.0, 0.1]),
            read_bw=rng.choice([None, None, 1.0, 2.0]), bypass_choice=choice))
    if n_levels in gaps:                     # a fan-out right above the compute units
        nodes.append(FanOut("Fc", x=rng.choice([2, 4]), x_dims=rng.choice([None, ("K",)])))
    return Hierarchy("rand", tuple(nodes), Compute(mac_pj=1.0))


def random_layer(rng: random.Random, max_primes: int = 5) -> Layer:
    """A tiny conv/gemm with at most ``max_primes`` prime factors over all dims."""
    while True:
        d = {"K": rng.choice([1, 2, 3, 4]), "C": rng.choice([1, 2]), "P": rng.choice([1, 2, 3, 4]),
             "R": rng.choice([1, 1, 2, 3])}
        n = sum(len(prime_factors(v)) for v in d.values())
        if 3 <= n <= max_primes:
            return Layer.conv(K=d["K"], C=d["C"], P=d["P"], Q=1, R=d["R"], S=1,
                              stride=rng.choice([1, 2]))


def _allowed_slots(h: Hierarchy, dim: str) -> list[int]:
    out = []
    for i, s in enumerate(h.slots):
        if s.kind == "temporal":
            out.append(i)
            continue
        node = h.nodes[s.node]
        size = node.x if s.axis == "X" else node.y
        dims = node.x_dims if s.axis == "X" else node.y_dims
        if size > 1 and (dims is None or dim in dims):
            out.append(i)
    return out


def enumerate_mappings(h: Hierarchy, layer: Layer) -> NestBatch:
    """Every valid mapping of ``layer`` on ``h`` as one ``[1, N]`` batch."""
    primes = [(di, p) for di, d in enumerate(DIMS) for p in prime_factors(getattr(layer, d))]
    choices = [_allowed_slots(h, DIMS[di]) for di, _ in primes]
    n_f, n_d = len(h.slots), len(DIMS)
    levels = h.temporal_slots
    keep_bits = [(m, t) for m, lv in enumerate(h.levels) for t in lv.bypass_choice]
    base_keep = [list(row) for row in h.keep_mask]
    facs, orders, keeps = [], [], []
    for assign in itertools.product(*choices):
        fac = [[1] * n_d for _ in range(n_f)]
        for (di, p), s in zip(primes, assign, strict=True):
            fac[s][di] *= p
        if any(math.prod(fac[s]) > h.fanout_axis_size(s) for s in h.spatial_slots):
            continue
        per_level = []
        for s in levels:
            looped = [di for di in range(n_d) if fac[s][di] > 1]
            rest = [di for di in range(n_d) if fac[s][di] == 1]
            per_level.append([list(p) + rest for p in itertools.permutations(looped)])
        for order in itertools.product(*per_level):
            for bits in itertools.product((False, True), repeat=len(keep_bits)):
                keep = [row[:] for row in base_keep]
                for (m, t), b in zip(keep_bits, bits, strict=True):
                    keep[m][TENSORS.index(t)] = b
                facs.append(fac)
                orders.append(list(order))
                keeps.append(keep)
    return NestBatch(torch.tensor([facs]), torch.tensor([orders]), torch.tensor([keeps]))


def optimum(h: Hierarchy, layer: Layer, objective: str) -> float:
    """The best feasible value of ``objective`` over every mapping (inf if none fits)."""
    batch = enumerate_mappings(h, layer)
    n = batch.factors.shape[1]
    stride = torch.tensor([list(layer.stride)]).expand(n, 2)
    dil = torch.tensor([list(layer.dilation)]).expand(n, 2)
    dims = torch.tensor([list(layer.dims)]).expand(n, len(DIMS))
    cost = nest_cost(h, batch, stride, dil, dims=dims)
    value = {"edp": cost.energy_pj * cost.cycles, "energy": cost.energy_pj,
             "latency": cost.cycles}[objective][0]
    value = torch.where(cost.feasible[0], value, torch.inf)
    return float(value.min())
