"""Mappings of a `MapSpace` as flat genomes, and given mappings back as genes.

`from_unit` reads one mapping per layer from floats in ``[0, 1]`` (the mapping part of a
joint genome: a design-space search that carries the mappings in its genome);
`genes_of` turns decoded mappings (factors and loop orders) back into genes, so a search can
start from them (the final remap of an exploration). Both end in `MapSpace.repair`, so
what they give is valid for each design of the space.

Shapes: ``B`` designs, ``L`` layers, ``F`` slots, ``M`` levels, ``D = 8`` dims, ``P``
primes per dim, ``T = 3`` tensors.
"""

from __future__ import annotations

import torch

from codesign.hierarchy.mapspace import Genes, MapSpace
from codesign.workload.layer import DIMS, TENSORS

__all__ = ["from_unit", "genes_of", "n_unit_genes"]


def n_unit_genes(space: MapSpace) -> int:
    """Floats per layer of a mapping in `from_unit` form: a slot pick per prime, an order
    key per level and dim, a keep bit per level and tensor."""
    n_m = len(space.hierarchy.levels)
    return len(DIMS) * space.n_primes + n_m * len(DIMS) + n_m * len(TENSORS)


def from_unit(space: MapSpace, unit: torch.Tensor) -> Genes:
    """Genes ``[B, L, 1, ...]`` of floats in ``[0, 1]`` ``[B, L, n_unit_genes]`` (a joint
    genome's mapping part): each prime goes to the ``floor(u * n)``-th of the ``n``
    slots its dim may use on that design; order keys are the floats; a keep bit is
    ``u > 0.5`` (read only where the mapping owns it). Repaired, so always valid.
    """
    n_b, n_l = unit.shape[:2]
    n_d, n_p, n_m, n_t = len(DIMS), space.n_primes, len(space.hierarchy.levels), len(TENSORS)
    u_slot, u_order, u_keep = unit.split([n_d * n_p, n_m * n_d, n_m * n_t], -1)
    allowed = space.design_allowed.transpose(-1, -2)                      # [B, D, F]
    allowed = allowed.reshape(allowed.shape[0], 1, n_d, 1, allowed.shape[-1])
    n_ok = allowed.sum(-1)                                               # [B, 1, D, 1]
    pick = (u_slot.reshape(n_b, n_l, n_d, n_p).clamp(0, 1) * n_ok).floor()
    pick = torch.minimum(pick, (n_ok - 1).clamp(min=0)).to(torch.int64)  # [B, L, D, P]
    slot = (allowed.cumsum(-1) <= pick.unsqueeze(-1)).sum(-1)            # the pick-th
    slot = slot.clamp(max=allowed.shape[-1] - 1)
    order = u_order.reshape(n_b, n_l, 1, n_m, n_d).to(torch.float64)
    keep = u_keep.reshape(n_b, n_l, 1, n_m, n_t) > 0.5
    return space.repair(Genes(slot.unsqueeze(2), order, keep))


def genes_of(space: MapSpace, factors: torch.Tensor, order: torch.Tensor,
             keep: torch.Tensor | None = None) -> Genes:
    """Genes ``[B, L, 1, ...]`` that decode to given mappings (a warm start): each dim's
    primes go, smallest first, to the outermost slot whose factor they still divide;
    the loop orders become order keys; keep bits are ``keep``'s where the mapping owns
    them, else each design's own. Then repaired, so a mapping from another design fits
    this one's fan-outs.

    Shape: factors ``[B, L, F, D]`` int64 (covering this space's layers exactly, as
    `MapSpace.decode` gives them); order ``[B, L, M, D]`` dim indices outer -> inner; keep
    ``[B, L, M, T]`` bool or None.
    """
    n_b, n_l, n_f, n_d = factors.shape
    rem = torch.div(factors, space.fixed.unsqueeze(0), rounding_mode="floor")  # [B, L, F, D]
    slots = []
    for p in range(space.n_primes):
        prime = space.primes[:, :, p].reshape(1, n_l, 1, n_d)                # [1, L, 1, D]
        divides = (rem % prime == 0) & (prime > 1)
        first = divides.to(torch.int8).argmax(2, keepdim=True)              # [B, L, 1, D]
        on = (torch.arange(n_f, device=factors.device).reshape(1, 1, n_f, 1) == first) \
            & divides.any(2, keepdim=True)
        rem = torch.where(on, torch.div(rem, prime, rounding_mode="floor"), rem)
        slots.append(first.squeeze(2))                                      # [B, L, D]
    slot = torch.stack(slots, -1).unsqueeze(2)                              # [B, L, 1, D, P]
    n_m = order.shape[-2]
    rank = torch.arange(n_d, dtype=torch.float64, device=order.device) / n_d
    key = torch.zeros(*order.shape, dtype=torch.float64, device=order.device).scatter(
        -1, order, rank.expand(*order.shape))                               # [B, L, M, D]
    own = space.design_keep.unsqueeze(1).expand(n_b, n_l, n_m, len(TENSORS))
    keep = own if keep is None else keep.to(torch.bool)
    return space.repair(Genes(slot, key.unsqueeze(2), keep.unsqueeze(2)))
