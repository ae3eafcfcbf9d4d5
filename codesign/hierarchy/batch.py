"""Many hierarchies of one structure as tensors: what a design-space search costs at once.

A `HierarchyBatch` is ``B`` designs that share a `Hierarchy`'s *structure* (its levels and
fan-outs, their names and order, so the factor slots, the counting rules and every name
a result uses) and differ in numbers: capacities (shared, or per tensor partition),
bandwidths, word widths, per-action energies and areas, what each level keeps, each
fan-out's X and Y sizes and the dims each axis may unroll. `nest_cost`, `spatial_feasible`
and `MapSpace` take one; a plain `Hierarchy` is a batch of one (`HierarchyBatch.of`),
broadcast over the designs of a nest batch.

Whether a level is bounded, and whether its capacity is shared or split into per-tensor
partitions, is structure (the base's); so are ``block_words``, ``multiple_buffering``,
multicast and reduction, the compute's ``ops_per_cycle`` and the clock.

Shapes: ``B`` designs, ``M`` levels, ``T = 3`` tensors, ``N`` fan-outs, ``D = 8`` dims.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from codesign.errors import ArchError
from codesign.hierarchy.levels import FanOut, Hierarchy, StorageLevel
from codesign.workload.layer import DIMS, TENSORS

__all__ = ["HierarchyBatch", "as_batch", "envelope", "same_structure"]

_INF = math.inf


def _structure(h: Hierarchy) -> tuple:
    return tuple((type(n).__name__, n.name) + ((n.bounded, n.partition_words is not None)
                                                if isinstance(n, StorageLevel) else ())
                 for n in h.nodes)


def same_structure(a: Hierarchy, b: Hierarchy) -> bool:
    """Whether ``a`` and ``b`` have the same nodes (kinds and names, in order) and the same
    bounded / shared / partitioned kind of capacity per level."""
    return _structure(a) == _structure(b)


def _axis_dims(dims: tuple[str, ...] | None) -> list[bool]:
    return [dims is None or d in dims for d in DIMS]


@dataclass(frozen=True)
class HierarchyBatch:
    """``B`` hierarchies of ``structure``'s shape (module docstring).

    Shape:
        capacity_words: ``[B, M]`` float64, a shared level's capacity (inf: unbounded or
            partitioned); partition_words: ``[B, M, T]`` (inf: not partitioned; 0: a
            partitioned level without room for that tensor).
        read_bw, write_bw, shared_bw: ``[B, M]`` words per cycle per instance (inf:
            unlimited); word_bits: ``[B, M, T]`` int64.
        read_pj, fill_pj, update_pj, leak_pj, area_um2: ``[B, M]``.
        keep: ``[B, M, T]`` bool; fanout_xy: ``[B, N, 2]`` int64 (X, Y sizes);
        axis_dims: ``[B, N, 2, D]`` bool, the dims each axis may unroll; hop_pj: ``[B, N]``.
        mac_pj, compute_area_um2: ``[B]``.
    ``varied_keep``: the keep sets differ between designs (then `keep` goes to the counts;
    otherwise they are the structure's own).
    """

    structure: Hierarchy
    capacity_words: torch.Tensor
    partition_words: torch.Tensor
    read_bw: torch.Tensor
    write_bw: torch.Tensor
    shared_bw: torch.Tensor
    word_bits: torch.Tensor
    read_pj: torch.Tensor
    fill_pj: torch.Tensor
    update_pj: torch.Tensor
    leak_pj: torch.Tensor
    area_um2: torch.Tensor
    keep: torch.Tensor
    fanout_xy: torch.Tensor
    axis_dims: torch.Tensor
    hop_pj: torch.Tensor
    mac_pj: torch.Tensor
    compute_area_um2: torch.Tensor
    varied_keep: bool = False

    # -- building ------------------------------------------------------------------------
    @classmethod
    def of(cls, hierarchy: Hierarchy, device: torch.device | str | None = None
           ) -> HierarchyBatch:
        """``hierarchy`` as a batch of one."""
        return cls.stack([hierarchy], device)

    @classmethod
    def stack(cls, hierarchies: Sequence[Hierarchy], device: torch.device | str | None = None
              ) -> HierarchyBatch:
        """The batch of ``hierarchies`` (all of the first one's structure; its keep sets,
        fan-out axes and other numbers may differ). Host-side; the search decodes genes
        straight into tensors instead."""
        first = hierarchies[0]
        bad = [h.name for h in hierarchies if not same_structure(h, first)]
        if bad:
            raise ArchError(f"hierarchies {bad} do not have the structure of {first.name!r} "
                            "(the same levels and fan-outs, in order, with the same kind of "
                            "capacity)")
        f64 = dict(dtype=torch.float64, device=device)

        def levels(fn) -> torch.Tensor:
            return torch.tensor([[fn(lv) for lv in h.levels] for h in hierarchies], **f64)

        def shared(lv: StorageLevel) -> float:
            return float(lv.capacity_words) if lv.capacity_words is not None else _INF

        def parts(lv: StorageLevel) -> list[float]:
            if lv.partition_words is None:
                return [_INF] * len(TENSORS)
            return [float(lv.partition_words.get(t, 0)) for t in TENSORS]

        def bw(value: float | None) -> float:
            return _INF if value is None else float(value)

        fans = [h.fanouts for h in hierarchies]
        masks = [h.keep_mask for h in hierarchies]
        keep = torch.tensor(masks, dtype=torch.bool, device=device)
        return cls(
            structure=first,
            capacity_words=levels(shared),
            partition_words=torch.tensor([[parts(lv) for lv in h.levels]
                                          for h in hierarchies], **f64),
            read_bw=levels(lambda lv: bw(lv.read_bw)),
            write_bw=levels(lambda lv: bw(lv.write_bw)),
            shared_bw=levels(lambda lv: bw(lv.shared_bw)),
            word_bits=torch.tensor([[[lv.word_bits[t] for t in TENSORS] for lv in h.levels]
                                    for h in hierarchies], dtype=torch.int64, device=device),
            read_pj=levels(lambda lv: lv.read_pj), fill_pj=levels(lambda lv: lv.fill_pj),
            update_pj=levels(lambda lv: lv.update_pj), leak_pj=levels(lambda lv: lv.leak_pj),
            area_um2=levels(lambda lv: lv.area_um2),
            keep=keep,
            fanout_xy=torch.tensor([[[f.x, f.y] for f in row] for row in fans],
                                   dtype=torch.int64, device=device).reshape(
                                       len(hierarchies), len(first.fanouts), 2),
            axis_dims=torch.tensor([[[_axis_dims(f.x_dims), _axis_dims(f.y_dims)]
                                     for f in row] for row in fans], dtype=torch.bool,
                                   device=device).reshape(len(hierarchies),
                                                          len(first.fanouts), 2, len(DIMS)),
            hop_pj=torch.tensor([[f.hop_pj for f in row] for row in fans], **f64).reshape(
                len(hierarchies), len(first.fanouts)),
            mac_pj=torch.tensor([h.compute.mac_pj for h in hierarchies], **f64),
            compute_area_um2=torch.tensor([h.compute.area_um2 for h in hierarchies], **f64),
            varied_keep=any(m != masks[0] for m in masks),   # host lists: no device sync
        )

    # -- derived -------------------------------------------------------------------------
    @property
    def n_designs(self) -> int:
        return int(self.capacity_words.shape[0])

    @property
    def device(self) -> torch.device:
        return self.capacity_words.device

    def fanout_of_slot(self, slot: int) -> tuple[int, int]:
        """(fan-out index, axis 0 = X / 1 = Y) of spatial factor slot ``slot``."""
        s = self.structure.slots[slot]
        node = self.structure.nodes[s.node]
        return self.structure.fanouts.index(node), 0 if s.axis == "X" else 1

    def axis_size(self, slot: int) -> torch.Tensor:
        """``[B]`` int64 size of spatial slot ``slot``'s axis."""
        n, a = self.fanout_of_slot(slot)
        return self.fanout_xy[:, n, a]

    def slot_dims(self, slot: int) -> torch.Tensor:
        """``[B, D]`` bool: the dims spatial slot ``slot`` may unroll."""
        n, a = self.fanout_of_slot(slot)
        return self.axis_dims[:, n, a]

    @property
    def instances(self) -> torch.Tensor:
        """``[B, M]`` float64 instances of each level: the product of the fan-outs above."""
        sizes = self.fanout_xy.to(torch.float64).prod(-1)                 # [B, N]
        out, count, i = [], torch.ones_like(self.mac_pj), 0
        for node in self.structure.nodes:
            if isinstance(node, FanOut):
                count = count * sizes[:, i]
                i += 1
            else:
                out.append(count)
        return torch.stack(out, -1)

    @property
    def n_compute(self) -> torch.Tensor:
        """``[B]`` compute instances (every fan-out's X times Y)."""
        return self.fanout_xy.to(torch.float64).prod(-1).prod(-1)

    @property
    def area_mm2(self) -> torch.Tensor:
        """``[B]`` every instance of every level and compute unit, as `Hierarchy.area_mm2`."""
        um2 = (self.area_um2 * self.instances).sum(-1)
        return (um2 + self.compute_area_um2 * self.n_compute) * 1e-6

    def to(self, device: torch.device | str) -> HierarchyBatch:
        """The batch on ``device`` (itself when it is there already)."""
        device = torch.device(device)
        if self.device == device:
            return self
        return replace(self, **{k: getattr(self, k).to(device) for k in _TENSOR_FIELDS})

    def select(self, index: torch.Tensor) -> HierarchyBatch:
        """Designs ``index [B']`` of this batch."""
        values = {k: getattr(self, k)[index] for k in _TENSOR_FIELDS}
        return replace(self, **values)

    def hierarchy(self, b: int) -> Hierarchy:
        """Design ``b`` as a plain `Hierarchy` (host side: results, export)."""
        h = self.structure
        vals = {k: getattr(self, k)[b].tolist() for k in _TENSOR_FIELDS}
        nodes, m, n = [], 0, 0
        for node in h.nodes:
            if isinstance(node, StorageLevel):
                def num(key: str, m: int = m) -> float | None:
                    v = vals[key][m]
                    return None if v == _INF else v
                changes = dict(
                    keeps=tuple(t for t, k in zip(TENSORS, vals["keep"][m], strict=True) if k),
                    word_bits={t: int(v) for t, v in zip(TENSORS, vals["word_bits"][m],
                                                         strict=True)},
                    read_bw=num("read_bw"), write_bw=num("write_bw"),
                    shared_bw=num("shared_bw"), read_pj=vals["read_pj"][m],
                    fill_pj=vals["fill_pj"][m], update_pj=vals["update_pj"][m],
                    leak_pj=vals["leak_pj"][m], area_um2=vals["area_um2"][m])
                if node.capacity_words is not None:
                    changes["capacity_words"] = int(vals["capacity_words"][m])
                if node.partition_words is not None:
                    changes["partition_words"] = {
                        t: int(v) for t, v, k in zip(TENSORS, vals["partition_words"][m],
                                                     vals["keep"][m], strict=True)
                        if k and v > 0}
                changes["bypass_choice"] = tuple(t for t in node.bypass_choice
                                                 if t in changes["keeps"])
                nodes.append(replace(node, **changes))
                m += 1
            else:
                x, y = vals["fanout_xy"][n]
                dims = [tuple(d for d, ok in zip(DIMS, row, strict=True) if ok)
                        for row in vals["axis_dims"][n]]
                nodes.append(replace(node, x=int(x), y=int(y),
                                     x_dims=None if len(dims[0]) == len(DIMS) else dims[0],
                                     y_dims=None if len(dims[1]) == len(DIMS) else dims[1],
                                     hop_pj=vals["hop_pj"][n]))
                n += 1
        compute = replace(h.compute, mac_pj=vals["mac_pj"], area_um2=vals["compute_area_um2"])
        return replace(h, name=f"{h.name}-{b}", nodes=tuple(nodes), compute=compute)


_TENSOR_FIELDS = ("capacity_words", "partition_words", "read_bw", "write_bw", "shared_bw",
                  "word_bits", "read_pj", "fill_pj", "update_pj", "leak_pj", "area_um2",
                  "keep", "fanout_xy", "axis_dims", "hop_pj", "mac_pj", "compute_area_um2")


def as_batch(hierarchy: Hierarchy | HierarchyBatch, device: torch.device | str | None = None
             ) -> HierarchyBatch:
    """``hierarchy`` as a `HierarchyBatch` (a plain one: a batch of one on ``device``)."""
    if isinstance(hierarchy, HierarchyBatch):
        return hierarchy
    return HierarchyBatch.of(hierarchy, device)



def envelope(batch: HierarchyBatch) -> Hierarchy:
    """The structure with every fan-out at its largest X and Y of the batch, each axis
    unrolling every dim some design allows, each level keeping every tensor some design
    keeps: the mapspace every design's own is a part of (host side, once per space)."""
    h = batch.structure
    xy = batch.fanout_xy.amax(0).tolist()                                 # [N, 2]
    dims = batch.axis_dims.any(0).tolist()                                # [N, 2, D]
    keeps = batch.keep.any(0).tolist()                                    # [M, T]
    nodes, m, n = [], 0, 0
    for node in h.nodes:
        if isinstance(node, StorageLevel):
            kept = tuple(t for t, k in zip(TENSORS, keeps[m], strict=True) if k)
            nodes.append(replace(node, keeps=kept, bypass_choice=tuple(
                t for t in node.bypass_choice if t in kept)))
            m += 1
        else:
            axes = [tuple(d for d, ok in zip(DIMS, row, strict=True) if ok) for row in dims[n]]
            nodes.append(replace(node, x=int(xy[n][0]), y=int(xy[n][1]),
                                 x_dims=None if len(axes[0]) == len(DIMS) else axes[0],
                                 y_dims=None if len(axes[1]) == len(DIMS) else axes[1]))
            n += 1
    return replace(h, nodes=tuple(nodes))
