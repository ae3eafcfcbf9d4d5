"""The mapspace of layers on any `Hierarchy`: genes, valid-by-construction decoding, moves.

A candidate mapping of one layer is three genes (docs/MAPPER.md):

- ``slot [.., D, P]``: the factor slot (`Hierarchy.slots`: a level's temporal loops or one
  fan-out axis) of every prime factor of every dim (``P`` primes at most; padding primes
  are 1 and go nowhere). Each dim's factors are the product of its primes per slot, times
  the factors a constraint fixes, so they multiply exactly to the layer's bound;
- ``order_key [.., M, D]``: per level, a key per dim; the loops run in ascending key order
  (outer -> inner), dims a constraint pins innermost after the rest;
- ``keep [.., M, T]``: per level and tensor, whether it keeps the tensor, read only where the
  architecture leaves it to the mapping (``bypass_choice``).

`decode` repairs genes into valid ones first: a prime on a slot its dim may not use goes to
the dim's fallback (the outermost temporal slot it may use), and primes that overflow a
fan-out axis (in the fixed order dim, prime) are evicted to the fallback too. So every
decoded mapping covers the layer exactly and fits every fan-out; only storage capacity is
left to the cost model (`nest_cost`'s ``feasible`` and ``capacity_excess``).

Constraints (`MapConstraints`, Timeloop's mapspace constraints as data) fix factors per slot
and dim (a factor of 1 bars the dim from the slot), pin the innermost loops of a level,
force a level to keep or bypass tensors, and list the dims a fan-out axis may unroll.

Designs of a search differ in fan-out sizes, the dims each axis may unroll and what each level
keeps (a `HierarchyBatch`): `MapSpace.with_designs` gives the mapspace of every design at
once, over the *envelope* of the space (the largest fan-outs, every dim and tensor any design
allows) with each design's own masks applied in `repair`, so one batch of genes holds
candidates for every design.

Shapes: ``B`` designs, ``L`` layers, ``C`` candidates per (design, layer), ``F`` slots,
``M`` levels, ``D = 8`` dims, ``P`` primes per dim, ``T = 3`` tensors.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import torch

from codesign.errors import MappingError
from codesign.hierarchy.batch import HierarchyBatch, envelope, same_structure
from codesign.hierarchy.levels import FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.nest import LoopNest, NestBatch
from codesign.workload.layer import DIM_INDEX, DIMS, TENSORS, Layer

__all__ = ["Genes", "MapConstraints", "MapSpace", "prime_factors"]

_PIN = 16.0     # order keys of pinned dims sit above every free key (free keys in [0, 1))


def prime_factors(n: int) -> list[int]:
    """Prime factors of ``n`` in ascending order (``[]`` for 1).

    >>> prime_factors(12), prime_factors(1)
    ([2, 2, 3], [])
    """
    out, p = [], 2
    while p * p <= n:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    if n > 1:
        out.append(n)
    return out


@dataclass(frozen=True)
class MapConstraints:
    """Mapspace constraints on one hierarchy, by its own names.

    ``factors[slot][dim]``: the factor is fixed there (1: the dim gets no loop there);
    slots are level names or ``"<fan-out>.X"`` / ``".Y"``. ``innermost[level]``: dims
    that run innermost at that level, innermost first (Timeloop's permutation order).
    ``keep`` / ``bypass[level]``: tensors the level must keep / must bypass.
    ``spatial_dims[slot]``: the only dims a fan-out axis may unroll (intersected with the
    fan-out's own ``x_dims`` / ``y_dims``).
    """

    factors: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    innermost: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    keep: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    bypass: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    spatial_dims: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def merged(self, other: MapConstraints) -> MapConstraints:
        """Both sets of constraints (``other`` wins where both fix the same thing)."""
        factors = {k: dict(v) for k, v in self.factors.items()}
        for k, v in other.factors.items():
            factors.setdefault(k, {}).update(v)
        dims = dict(self.spatial_dims)
        for k, v in other.spatial_dims.items():
            dims[k] = tuple(d for d in v if d in dims[k]) if k in dims else tuple(v)
        keep = {k: tuple(v) for k, v in self.keep.items()}
        bypass = {k: tuple(v) for k, v in self.bypass.items()}
        for k, v in other.keep.items():
            keep[k] = tuple(sorted(set(keep.get(k, ())) | set(v)))
            bypass[k] = tuple(t for t in bypass.get(k, ()) if t not in v)
        for k, v in other.bypass.items():
            bypass[k] = tuple(sorted(set(bypass.get(k, ())) | set(v)))
            keep[k] = tuple(t for t in keep.get(k, ()) if t not in v)
        return MapConstraints(factors, {**self.innermost, **other.innermost}, keep, bypass,
                              dims)

    def check(self, hierarchy: Hierarchy) -> None:
        """Every name exists in ``hierarchy``; all problems in one `MappingError`."""
        problems = []
        slots = {s.name for s in hierarchy.slots}
        levels = set(hierarchy.level_names)
        spatial = {hierarchy.slots[s].name for s in hierarchy.spatial_slots}
        for where, names, known in (("factors", self.factors, slots),
                                    ("innermost", self.innermost, levels),
                                    ("keep", self.keep, levels), ("bypass", self.bypass, levels),
                                    ("spatial_dims", self.spatial_dims, spatial)):
            for name in names:
                if name not in known:
                    problems.append(f"constraints.{where}: unknown {name!r}; expected one "
                                    f"of {', '.join(sorted(known)) or 'none'}")
        for where, table in (("factors", self.factors), ("innermost", self.innermost),
                             ("spatial_dims", self.spatial_dims)):
            for name, dims in table.items():
                bad = sorted(set(dims) - set(DIMS))
                if bad:
                    problems.append(f"constraints.{where}.{name}: unknown dims {bad}")
        for name, fac in self.factors.items():
            for d, v in fac.items():
                if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                    problems.append(f"constraints.factors.{name}.{d}: expected a positive "
                                    f"integer, got {v!r}")
        for level in hierarchy.levels:
            keep = set(self.keep.get(level.name, ()))
            bypass = set(self.bypass.get(level.name, ()))
            if level is hierarchy.levels[0] and bypass:
                problems.append(f"constraints.bypass.{level.name}: the outermost level keeps "
                                f"every tensor")
            if keep - set(level.keeps):
                problems.append(f"constraints.keep.{level.name}: the architecture makes it "
                                f"bypass {sorted(keep - set(level.keeps))}")
            if bypass & (set(level.keeps) - set(level.bypass_choice)) and \
                    level is not hierarchy.levels[0]:
                problems.append(f"constraints.bypass.{level.name}: the architecture makes it "
                                f"keep {sorted(bypass & set(level.keeps))}")
        if problems:
            raise MappingError("; ".join(problems))

    def apply(self, hierarchy: Hierarchy) -> Hierarchy:
        """``hierarchy`` with the keep/bypass and spatial-dim constraints built in (what is
        left to the mapping shrinks; the cost model then checks the dims per axis). The
        outermost level keeps every tensor: it has no bypass choice."""
        self.check(hierarchy)
        nodes: list[StorageLevel | FanOut] = []
        for node in hierarchy.nodes:
            if node is hierarchy.nodes[0]:          # the backing store keeps everything
                nodes.append(replace(node, bypass_choice=()))
            elif isinstance(node, StorageLevel):
                bypass = set(self.bypass.get(node.name, ()))
                keep = set(self.keep.get(node.name, ()))
                keeps = tuple(t for t in node.keeps if t not in bypass)
                choice = tuple(t for t in node.bypass_choice if t in keeps and t not in keep)
                nodes.append(replace(node, keeps=keeps, bypass_choice=choice))
            else:
                axes = {}
                for axis, own in (("X", node.x_dims), ("Y", node.y_dims)):
                    given = self.spatial_dims.get(f"{node.name}.{axis}")
                    if given is None:
                        axes[axis] = own
                    else:
                        axes[axis] = tuple(d for d in DIMS if d in given and
                                           (own is None or d in own))
                nodes.append(replace(node, x_dims=axes["X"], y_dims=axes["Y"]))
        return replace(hierarchy, nodes=tuple(nodes))


@dataclass(frozen=True)
class Genes:
    """A batch of candidate mappings (module docstring).

    Shape:
        slot: ``[B, L, C, D, P]`` int64; order_key: ``[B, L, C, M, D]`` float;
        keep: ``[B, L, C, M, T]`` bool.
    """

    slot: torch.Tensor
    order_key: torch.Tensor
    keep: torch.Tensor

    def select(self, index: torch.Tensor) -> Genes:
        """Candidates ``index [B, L, C']`` of each (design, layer)."""
        def pick(x: torch.Tensor) -> torch.Tensor:
            i = index.reshape(*index.shape, *([1] * (x.dim() - 3))).expand(
                *index.shape, *x.shape[3:])
            return x.gather(2, i)
        return Genes(pick(self.slot), pick(self.order_key), pick(self.keep))

    @staticmethod
    def where(mask: torch.Tensor, a: Genes, b: Genes) -> Genes:
        """``a`` where ``mask [B, L, C]``, else ``b``."""
        def pick(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
            return torch.where(mask.reshape(*mask.shape, *([1] * (x.dim() - 3))), x, y)
        return Genes(pick(a.slot, b.slot), pick(a.order_key, b.order_key),
                     pick(a.keep, b.keep))

    @staticmethod
    def cat(parts: Sequence[Genes]) -> Genes:
        return Genes(*(torch.cat([getattr(g, k) for g in parts], 2)
                       for k in ("slot", "order_key", "keep")))


class MapSpace:
    """The mapspace of ``layers`` on ``hierarchy`` under ``constraints``, on ``device``.

    Everything the hot path needs is a tensor built here once: the primes ``[L, D, P]``,
    the fixed factors ``[L, F, D]``, which slots each dim may use ``[F, D]``, the fallback
    slot per dim, the pinned order keys ``[M, D]`` and which keep bits are genes ``[M, T]``.
    Per design (`designs`, 1 or ``B``): the slots each dim may use ``[B, F, D]``, the log
    size of each slot ``[B, F]`` and the keep sets ``[B, M, T]``. A `HierarchyBatch` given
    as ``hierarchy`` is mapped over its `envelope`.
    """

    def __init__(self, hierarchy: Hierarchy | HierarchyBatch, layers: Sequence[Layer],
                 constraints: MapConstraints | None = None,
                 device: torch.device | str | None = None) -> None:
        cons = constraints or MapConstraints()
        self.constraints = cons
        batch = hierarchy if isinstance(hierarchy, HierarchyBatch) else None
        if batch is not None:
            hierarchy = envelope(batch)
        self.hierarchy = h = cons.apply(hierarchy)
        self.layers = tuple(layers)
        self.device = torch.device(device) if device is not None else torch.device("cpu")
        slots = h.slots
        n_f, n_d, n_m = len(slots), len(DIMS), len(h.levels)
        fixed = [[cons.factors.get(s.name, {}).get(d, 0) for d in DIMS] for s in slots]
        allowed = [[fixed[f][i] == 0 for i in range(n_d)] for f in range(n_f)]
        for f in h.spatial_slots:
            node = h.nodes[slots[f].node]
            dims = node.x_dims if slots[f].axis == "X" else node.y_dims
            size = h.fanout_axis_size(f)
            for i, d in enumerate(DIMS):
                allowed[f][i] = allowed[f][i] and size > 1 and (dims is None or d in dims)
        temporal = h.temporal_slots
        fallback = []
        for i in range(n_d):
            usable = [f for f in temporal if allowed[f][i]] or \
                [f for f in range(n_f) if allowed[f][i]] or [temporal[0]]
            fallback.append(usable[0])
        primes = []
        for layer in self.layers:
            row = []
            for i, d in enumerate(DIMS):
                pinned = math.prod(fixed[f][i] for f in range(n_f) if fixed[f][i] > 0)
                rest = -(-getattr(layer, d) // pinned)
                free = any(allowed[f][i] for f in range(n_f))
                row.append(prime_factors(rest) if free else [])
            primes.append(row)
        n_p = max([len(p) for row in primes for p in row] + [1])
        self.n_primes = n_p
        dev = self.device
        self.primes = torch.tensor([[p + [1] * (n_p - len(p)) for p in row] for row in primes],
                                   dtype=torch.int64, device=dev).reshape(len(self.layers),
                                                                          n_d, n_p)
        self.fixed = torch.tensor([[max(v, 1) for v in row] for row in fixed],
                                  dtype=torch.int64, device=dev).expand(len(self.layers),
                                                                        n_f, n_d)
        self._allowed = allowed
        self.allowed = torch.tensor(allowed, dtype=torch.bool, device=dev)         # [F, D]
        self._fallback = fallback
        self.fallback = torch.tensor(fallback, dtype=torch.int64, device=dev)      # [D]
        pin = torch.zeros(n_m, n_d, dtype=torch.float64)
        for m, level in enumerate(h.levels):
            inner = cons.innermost.get(level.name, ())
            for rank, d in enumerate(inner):
                pin[m, DIM_INDEX[d]] = _PIN + len(inner) - rank
        self.pin = pin.to(dev)
        self.choice = torch.tensor([[t in lv.bypass_choice for t in TENSORS] for lv in h.levels],
                                   dtype=torch.bool, device=dev)                  # [M, T]
        self.keep_mask = torch.tensor(h.keep_mask, dtype=torch.bool, device=dev)  # [M, T]
        self.has_choice = any(lv.bypass_choice for lv in h.levels)
        self.real = self.primes > 1                                               # [L, D, P]
        self.log_primes = self.primes.to(torch.float64).log()  # repair's fan-out fit
        self.stride = torch.tensor([list(x.stride) for x in self.layers], device=dev)
        self.dilation = torch.tensor([list(x.dilation) for x in self.layers], device=dev)
        self.dims = torch.tensor([list(x.dims) for x in self.layers], device=dev)
        #: the designs mapped (`with_designs`); here the hierarchy itself, a batch of one
        self.designs = HierarchyBatch.of(h, dev)
        self._set_design_masks()
        if batch is not None:
            self._adopt(batch)

    def with_designs(self, designs: HierarchyBatch) -> MapSpace:
        """This mapspace for the ``B`` designs of ``designs`` (of this space's structure,
        within its envelope): genes of ``[B, ...]`` are repaired to each design's fan-out
        sizes, axis dims and keep sets, and costed on its own numbers. No host sync."""
        other = copy.copy(self)
        other._adopt(designs)
        return other

    def _adopt(self, designs: HierarchyBatch) -> None:
        if not same_structure(designs.structure, self.hierarchy):
            raise MappingError(f"designs of {designs.structure.name!r} do not have the "
                               f"structure of this mapspace's {self.hierarchy.name!r}")
        self.designs = designs.to(self.device)
        self._set_design_masks()

    def _set_design_masks(self) -> None:
        """``design_allowed [B, F, D]``, ``log_size [B, F]``, ``design_keep [B, M, T]``."""
        d = self.designs
        h = self.hierarchy
        n_b = d.n_designs
        rows, logs = [], []
        cons_dims = self.constraints.spatial_dims
        for f, slot in enumerate(h.slots):
            base = self.allowed[f].expand(n_b, len(DIMS))
            if slot.kind == "spatial":
                size = d.axis_size(f)                                        # [B]
                given = cons_dims.get(slot.name)
                dims = d.slot_dims(f)
                if given is not None:
                    dims = dims & torch.tensor([x in given for x in DIMS], device=self.device)
                rows.append(base & dims & (size > 1).unsqueeze(-1))
                logs.append(size.to(torch.float64).log() + 1e-9)
            else:
                rows.append(base)
                logs.append(torch.zeros(n_b, dtype=torch.float64, device=self.device))
        self.design_allowed = torch.stack(rows, 1)                           # [B, F, D]
        self.log_size = torch.stack(logs, 1)                                 # [B, F]
        bypass = [[t in self.constraints.bypass.get(lv.name, ()) for t in TENSORS]
                  for lv in h.levels]
        self.design_keep = d.keep & ~torch.tensor(bypass, dtype=torch.bool,
                                                  device=self.device)        # [B, M, T]
        self.dynamic_keep = self.has_choice or d.varied_keep

    def _per_design(self, x: torch.Tensor, n_lead: int) -> torch.Tensor:
        """``x [B, ...]`` shaped ``[B, 1 x n_lead, ...]`` to broadcast against genes."""
        return x.reshape(x.shape[0], *([1] * n_lead), *x.shape[1:])

    # -- genes -------------------------------------------------------------------------
    def random(self, n_b: int, n_c: int, gen: torch.Generator) -> Genes:
        """``[n_b, L, n_c]`` candidates: each prime on a uniformly drawn allowed slot,
        random loop orders, random keep choices (then repaired)."""
        n_l, n_d, n_p = self.primes.shape
        n_f, n_m = self.allowed.shape[0], len(self.hierarchy.levels)
        dev = self.device
        score = torch.rand(n_b, n_l, n_c, n_d, n_p, n_f, generator=gen, device=dev)
        allowed = self.design_allowed.transpose(-1, -2)                      # [B, D, F]
        score = score.masked_fill(~self._per_design(allowed, 2).unsqueeze(-2), -1.0)
        slot = score.argmax(-1)
        order = torch.rand(n_b, n_l, n_c, n_m, n_d, generator=gen, device=dev,
                           dtype=torch.float64)
        keep = torch.rand(n_b, n_l, n_c, n_m, len(TENSORS), generator=gen, device=dev) < 0.5
        return self.repair(Genes(slot, order, keep))

    def seeds(self, n_b: int) -> Genes:
        """Heuristic candidates per (design, layer): every prime at the outermost level
        it may use; the fan-outs filled first (inner axes first), the rest outermost;
        the fan-outs filled, the rest at the innermost temporal slot each dim may use
        (good for small layers); every level keeping what it may."""
        n_l, n_d, n_p = self.primes.shape
        dev = self.device
        h = self.hierarchy
        n_db = self.designs.n_designs
        outer = self.fallback.reshape(1, 1, 1, n_d, 1).expand(n_db, n_l, 1, n_d, n_p)
        inner_t = []
        for i in range(n_d):
            usable = [f for f in h.temporal_slots if self._allowed[f][i]]
            inner_t.append(usable[-1] if usable else self._fallback[i])
        inner = torch.tensor(inner_t, device=dev).reshape(1, 1, 1, n_d, 1).expand(
            n_db, n_l, 1, n_d, n_p)
        cands = [outer]
        for rest in (outer, inner):
            slot = rest.clone()
            for f in h.spatial_slots:      # outer axes first: inner ones overwrite them
                ok = self.design_allowed[:, f].reshape(n_db, 1, 1, n_d, 1)
                slot = torch.where(ok, torch.full_like(slot, f), slot)
            cands.append(self._fit_spatial(slot, rest))
        slot = torch.cat(cands, 2).expand(n_b, n_l, len(cands), n_d, n_p)
        n_m = len(h.levels)
        order = torch.linspace(0, 0.5, len(DIMS), dtype=torch.float64, device=dev).expand(
            n_b, n_l, len(cands), n_m, n_d)
        keep = self._per_design(self.design_keep, 2).expand(n_b, n_l, len(cands), n_m,
                                                            len(TENSORS))
        return self.repair(Genes(slot.contiguous(), order.contiguous(), keep.contiguous()))

    def _fit_spatial(self, slot: torch.Tensor, rest: torch.Tensor) -> torch.Tensor:
        """Evict primes that overflow a fan-out axis (first come, first kept, in the order
        dim, prime) to ``rest``; each design's own axis sizes. Shape: slot, rest
        ``[B, L, C, D, P]``."""
        logp = self.log_primes[None, :, None]                             # [1, L, 1, D, P]
        for f in self.hierarchy.spatial_slots:
            on = slot == f
            used = torch.where(on, logp, torch.zeros_like(logp)).flatten(-2).cumsum(-1)
            size = self._per_design(self.log_size[:, f], 4)                # [B, 1, 1, 1, 1]
            over = on & (used.unflatten(-1, slot.shape[-2:]) > size)
            slot = torch.where(over, rest, slot)
        return slot

    def repair(self, genes: Genes) -> Genes:
        """Valid genes: primes on allowed slots and within every fan-out axis; padding
        primes parked at the fallback; keep bits outside the choice as the hierarchy's."""
        slot = genes.slot
        n_d = slot.shape[-2]
        fb = self.fallback.reshape(n_d, 1).expand_as(slot)
        table = self._per_design(self.design_allowed.transpose(-1, -2), 2)  # [B, 1, 1, D, F]
        allowed = table.expand(*slot.shape[:-1], table.shape[-1]).gather(-1, slot)
        real = self.real.unsqueeze(1)
        slot = torch.where(allowed & real, slot, fb)
        slot = self._fit_spatial(slot, fb)
        own = self._per_design(self.design_keep, 2)                       # [B, 1, 1, M, T]
        keep = torch.where(self.choice, genes.keep & own, own)
        return Genes(slot, genes.order_key, keep)

    # -- decoding ----------------------------------------------------------------------
    def factors(self, slot: torch.Tensor) -> torch.Tensor:
        """``[B, L, C, F, D]`` int64 factors of (repaired) ``slot [B, L, C, D, P]``."""
        n_f = self.allowed.shape[0]
        f = torch.arange(n_f, device=slot.device).reshape(n_f, 1, 1)
        on = slot.unsqueeze(-3) == f                                      # [B, L, C, F, D, P]
        primes = self.primes.unsqueeze(1).unsqueeze(-3)                   # [L, 1, 1, D, P]
        prod = torch.where(on, primes, torch.ones_like(primes)).prod(-1)  # [B, L, C, F, D]
        return prod * self.fixed.unsqueeze(1)

    def order(self, order_key: torch.Tensor) -> torch.Tensor:
        """``[B, L, C, M, D]`` dim indices outer -> inner (pinned dims innermost)."""
        return (order_key + self.pin).argsort(dim=-1, stable=True)

    def decode(self, genes: Genes) -> NestBatch:
        """The `NestBatch` of ``genes`` with ``L * C`` layer rows (layer-major: row
        ``l * C + c``); ``keep`` is None where no level has a bypass choice."""
        n_b, n_l, n_c = genes.slot.shape[:3]
        fac = self.factors(genes.slot).reshape(n_b, n_l * n_c, *self.fixed.shape[1:])
        order = self.order(genes.order_key).reshape(n_b, n_l * n_c, -1, len(DIMS))
        keep = genes.keep.reshape(n_b, n_l * n_c, -1, len(TENSORS)) if self.dynamic_keep \
            else None
        return NestBatch(fac, order, keep)

    def rows(self, n_c: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Stride, dilation ``[L * C, 2]`` and dims ``[L * C, D]`` for decoded rows."""
        return (self.stride.repeat_interleave(n_c, 0), self.dilation.repeat_interleave(n_c, 0),
                self.dims.repeat_interleave(n_c, 0))

    # -- moves -------------------------------------------------------------------------
    def mutate(self, genes: Genes, gen: torch.Generator) -> Genes:
        """One move per candidate, drawn per candidate: move a prime to another allowed
        slot (any: across levels and fan-outs; or the next allowed one inward/outward:
        a local step), swap two loops of a level, toggle a keep bit the mapping owns.
        The result is repaired (an overflowing fan-out sheds primes)."""
        slot, okey, keep = genes.slot, genes.order_key, genes.keep
        n_b, n_l, n_c, n_d, n_p = slot.shape
        n_f = self.allowed.shape[0]
        n_m = okey.shape[-2]
        dev = slot.device
        lead = (n_b, n_l, n_c)
        kind = torch.randint(0, 4, lead, generator=gen, device=dev)
        if not self.has_choice:
            kind = torch.where(kind == 3, torch.zeros_like(kind), kind)
        # pick a real prime (uniformly)
        real = self.real.unsqueeze(1).expand(n_b, n_l, n_c, n_d, n_p).flatten(-2)
        score = torch.rand(*lead, n_d * n_p, generator=gen, device=dev).masked_fill(~real, -1)
        which = score.argmax(-1)                                           # [B, L, C]
        dim = which // n_p
        cur = slot.flatten(-2).gather(-1, which.unsqueeze(-1)).squeeze(-1)
        table = self._per_design(self.design_allowed.transpose(-1, -2), 2)  # [B, 1, 1, D, F]
        allowed = table.expand(n_b, n_l, n_c, n_d, n_f).gather(
            3, dim.reshape(*lead, 1, 1).expand(*lead, 1, n_f)).squeeze(3)    # [B, L, C, F]
        pick = torch.rand(*lead, n_f, generator=gen, device=dev).masked_fill(~allowed, -1)
        pick = pick.masked_fill(torch.arange(n_f, device=dev) == cur.unsqueeze(-1), -0.5)
        anywhere = pick.argmax(-1)
        pos = torch.arange(n_f, device=dev)
        step = torch.where(torch.rand(lead, generator=gen, device=dev) < 0.5, 1, -1)
        dist = (pos - cur.unsqueeze(-1)) * step.unsqueeze(-1)
        dist = torch.where(allowed & (dist > 0), dist, torch.full_like(dist, n_f + 1))
        near = torch.where(dist.amin(-1) <= n_f, dist.argmin(-1), anywhere)
        new = torch.where(torch.rand(lead, generator=gen, device=dev) < 0.5, anywhere, near)
        move = (kind <= 1) & real.any(-1)
        new = torch.where(move, new, cur)
        slot = slot.flatten(-2).scatter(-1, which.unsqueeze(-1), new.unsqueeze(-1)).unflatten(
            -1, (n_d, n_p))
        # swap two loops at a level
        level = torch.randint(0, n_m, lead, generator=gen, device=dev)
        a = torch.randint(0, n_d, lead, generator=gen, device=dev)
        b = torch.randint(0, n_d, lead, generator=gen, device=dev)
        flat = okey.flatten(-2)
        ia, ib = level * n_d + a, level * n_d + b
        ka, kb = flat.gather(-1, ia.unsqueeze(-1)), flat.gather(-1, ib.unsqueeze(-1))
        swap = (kind == 2).unsqueeze(-1)
        flat = flat.scatter(-1, ia.unsqueeze(-1), torch.where(swap, kb, ka))
        flat = flat.scatter(-1, ib.unsqueeze(-1), torch.where(swap, ka, kb))
        okey = flat.unflatten(-1, (n_m, n_d))
        # toggle one keep bit the mapping owns
        n_t = len(TENSORS)
        owned = self.choice.flatten().expand(*lead, n_m * n_t)
        tscore = torch.rand(*lead, n_m * n_t, generator=gen, device=dev).masked_fill(~owned, -1)
        bit = tscore.argmax(-1, keepdim=True)
        kflat = keep.flatten(-2)
        old = kflat.gather(-1, bit)
        kflat = kflat.scatter(-1, bit, torch.where((kind == 3).unsqueeze(-1), ~old, old))
        return self.repair(Genes(slot, okey, kflat.unflatten(-1, (n_m, n_t))))

    def crossover(self, a: Genes, b: Genes, gen: torch.Generator) -> Genes:
        """Per dim: the primes' slots from ``a`` or ``b``; per level: the order from one
        of them; keep bits per level likewise (then repaired)."""
        n_d = a.slot.shape[-2]
        n_m = a.order_key.shape[-2]
        lead = a.slot.shape[:3]
        dev = a.slot.device
        from_a = torch.rand(*lead, n_d, 1, generator=gen, device=dev) < 0.5
        lv = torch.rand(*lead, n_m, 1, generator=gen, device=dev) < 0.5
        return self.repair(Genes(torch.where(from_a, a.slot, b.slot),
                                 torch.where(lv, a.order_key, b.order_key),
                                 torch.where(lv, a.keep, b.keep)))

    # -- back to names -----------------------------------------------------------------
    def loop_nest(self, factors: Sequence[Sequence[int]], order: Sequence[Sequence[int]],
                  keep: Sequence[Sequence[bool]] | None) -> LoopNest:
        """One decoded mapping (host lists ``[F][D]``, ``[M][D]``, ``[M][T]``) as a
        `LoopNest` in the hierarchy's names (orders list only the dims with a loop)."""
        h = self.hierarchy
        fac = {s.name: {d: int(v) for d, v in zip(DIMS, row, strict=True) if v > 1}
               for s, row in zip(h.slots, factors, strict=True)}
        fac = {k: v for k, v in fac.items() if v}
        orders = {}
        for m, level in enumerate(h.levels):
            here = fac.get(level.name, {})
            dims = tuple(DIMS[i] for i in order[m] if DIMS[i] in here)
            if dims:
                orders[level.name] = dims
        kept = {}
        if keep is not None:
            for m, level in enumerate(h.levels):
                if level.bypass_choice:
                    kept[level.name] = tuple(t for t, k in zip(TENSORS, keep[m], strict=True)
                                             if k)
        return LoopNest(fac, orders, kept)
