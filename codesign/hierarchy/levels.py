"""The accelerator as data: storage levels and spatial fan-outs, outer to inner, compute last.

A `Hierarchy` is what Timeloop, AccelForge and ZigZag users write: a chain of storage levels
(each keeping some tensors; the others bypass it to the next level that keeps them) with
spatial fan-outs between them, and a compute unit at the leaves. Every later stage derives
its layout from one `Hierarchy` here: the mapping's factor slots, the keep mask ``[M, T]``,
level names and instance counts. No other module knows what a level is called.

Eyeriss's three per-PE scratchpads (ifmap, weights, psum) are three *sequential* levels, each
keeping one tensor and bypassing the others, as Timeloop flattens a ``!Parallel`` group: since
each one bypasses the others' tensors, their order only decides where the loops given to them
sit. A level whose tensors share one capacity has ``capacity_words``; a level split into fixed
per-tensor partitions has ``partition_words`` instead.

Shapes elsewhere: ``M`` storage levels, ``T = 3`` tensors (W, I, O), ``F`` factor slots
(one temporal slot per storage level and an X and a Y slot per fan-out, outer to inner).
"""

from __future__ import annotations

import math
from collections.abc import Mapping as MappingABC
from dataclasses import dataclass, field
from functools import cached_property

from codesign.errors import ArchError
from codesign.workload.layer import DIMS, TENSORS

__all__ = ["Compute", "FanOut", "Hierarchy", "StorageLevel"]


def _tensor_map(value, what: str, name: str, problems: list[str]) -> dict[str, float]:
    """``value`` as a ``{tensor: number}`` over all of `TENSORS` (a number means all)."""
    if isinstance(value, MappingABC):
        unknown = sorted(set(value) - set(TENSORS))
        if unknown:
            problems.append(f"{name}.{what}: unknown tensors {unknown}; use {' '.join(TENSORS)}")
        return {t: value.get(t, 0) for t in TENSORS}
    return {t: value for t in TENSORS}


def _positive(value, what: str, problems: list[str], allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        problems.append(f"{what} must be a positive finite number, got {value!r}")


def _non_negative(value, what: str, problems: list[str]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0 \
            or not math.isfinite(value):
        problems.append(f"{what} must be a non-negative finite number, got {value!r}")


@dataclass(frozen=True)
class StorageLevel:
    """One storage level (all its instances alike).

    Sizes are in words; bandwidths in words per cycle per instance (``None``: unlimited);
    energies in pJ per *vector* access of ``block_words`` words (Timeloop's ``width /
    datawidth``), so ``reads`` scalar reads cost ``ceil(reads / block_words) * read_pj``.
    ``fill_pj`` is a write from the parent, ``update_pj`` a write of a partial sum from the
    child. ``leak_pj`` is per cycle per instance. ``keeps`` are the tensors the level holds;
    ``bypass_choice`` those the mapping may still bypass (a subset of ``keeps``).
    """

    name: str
    keeps: tuple[str, ...] = TENSORS
    capacity_words: int | None = None
    partition_words: MappingABC[str, int] | None = None
    word_bits: MappingABC[str, int] | int = 16
    block_words: int = 1
    read_bw: float | None = None
    write_bw: float | None = None
    shared_bw: float | None = None
    multiple_buffering: float = 1.0
    read_pj: float = 0.0
    fill_pj: float = 0.0
    update_pj: float = 0.0
    leak_pj: float = 0.0
    area_um2: float = 0.0
    bypass_choice: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problems: list[str] = []
        object.__setattr__(self, "keeps", tuple(t for t in TENSORS if t in set(self.keeps)))
        bad = sorted(set(self.keeps) - set(TENSORS))
        if bad:
            problems.append(f"keeps: unknown tensors {bad}")
        if not self.name or not isinstance(self.name, str):
            problems.append("a storage level needs a name")
        if self.capacity_words is not None and self.partition_words is not None:
            problems.append("give capacity_words (shared) or partition_words (per tensor), "
                            "not both")
        if self.capacity_words is not None:
            _positive(self.capacity_words, "capacity_words", problems)
        if self.partition_words is not None:
            parts = dict(self.partition_words)
            for t, words in parts.items():
                if t not in TENSORS:
                    problems.append(f"partition_words: unknown tensor {t!r}")
                else:
                    _positive(words, f"partition_words.{t}", problems)
            object.__setattr__(self, "partition_words", parts)
        bits = _tensor_map(self.word_bits, "word_bits", self.name, problems)
        for t, b in bits.items():
            if not isinstance(b, int) or isinstance(b, bool) or b < 1:
                problems.append(f"word_bits.{t} must be a positive integer, got {b!r}")
        object.__setattr__(self, "word_bits", bits)
        if not isinstance(self.block_words, int) or self.block_words < 1:
            problems.append(f"block_words must be a positive integer, got {self.block_words!r}")
        for key in ("read_bw", "write_bw", "shared_bw"):
            _positive(getattr(self, key), key, problems, allow_none=True)
        _positive(self.multiple_buffering, "multiple_buffering", problems)
        for key in ("read_pj", "fill_pj", "update_pj", "leak_pj", "area_um2"):
            _non_negative(getattr(self, key), key, problems)
        object.__setattr__(self, "bypass_choice",
                           tuple(t for t in TENSORS if t in set(self.bypass_choice)))
        if not set(self.bypass_choice) <= set(self.keeps):
            problems.append("bypass_choice must be a subset of keeps")
        if problems:
            raise ArchError(f"storage level {self.name!r}: " + "; ".join(problems))

    @property
    def bounded(self) -> bool:
        """Whether the level has a capacity to check (DRAM usually has none)."""
        return self.capacity_words is not None or self.partition_words is not None


@dataclass(frozen=True)
class FanOut:
    """A spatial fan-out: each instance of the level above feeds ``x * y`` children.

    ``x_dims`` / ``y_dims`` are the loop dims a mapping may unroll on each axis (``None``:
    any). ``multicast``: one parent read serves every child that needs the same word;
    ``reduce``: children's partial sums of one output are added on the way up, so the parent
    sees one update. ``hop_pj`` is the energy of moving one word across the fan-out.
    """

    name: str
    x: int = 1
    y: int = 1
    x_dims: tuple[str, ...] | None = None
    y_dims: tuple[str, ...] | None = None
    multicast: bool = True
    reduce: bool = True
    hop_pj: float = 0.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        for key in ("x", "y"):
            value = getattr(self, key)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                problems.append(f"{key} must be a positive integer, got {value!r}")
        for key in ("x_dims", "y_dims"):
            dims = getattr(self, key)
            if dims is not None:
                dims = tuple(dims)
                bad = sorted(set(dims) - set(DIMS))
                if bad:
                    problems.append(f"{key}: unknown dims {bad}; use {' '.join(DIMS)}")
                object.__setattr__(self, key, dims)
        _non_negative(self.hop_pj, "hop_pj", problems)
        if problems:
            raise ArchError(f"fan-out {self.name!r}: " + "; ".join(problems))

    @property
    def size(self) -> int:
        return self.x * self.y


@dataclass(frozen=True)
class Compute:
    """The compute unit at the leaves: ``mac_pj`` per MAC, ``ops_per_cycle`` MACs per cycle
    per instance."""

    name: str = "MAC"
    mac_pj: float = 0.0
    ops_per_cycle: int = 1
    leak_pj: float = 0.0
    area_um2: float = 0.0

    def __post_init__(self) -> None:
        problems: list[str] = []
        for key in ("mac_pj", "leak_pj", "area_um2"):
            _non_negative(getattr(self, key), key, problems)
        if not isinstance(self.ops_per_cycle, int) or self.ops_per_cycle < 1:
            problems.append(f"ops_per_cycle must be a positive integer, got "
                            f"{self.ops_per_cycle!r}")
        if problems:
            raise ArchError(f"compute {self.name!r}: " + "; ".join(problems))


@dataclass(frozen=True)
class Slot:
    """One factor slot of a mapping: a storage level's temporal loops or one fan-out axis."""

    name: str       # the level's name, or "<fan-out>.X" / "<fan-out>.Y"
    kind: str       # "temporal" or "spatial"
    node: int       # index into Hierarchy.nodes
    axis: str = ""  # "X" or "Y" for spatial slots


@dataclass(frozen=True)
class Hierarchy:
    """Storage levels and fan-outs outer to inner (``nodes``), then ``compute``.

    The first node is the backing store and keeps every tensor. ``clock_mhz`` turns cycles
    into seconds.

    >>> h = Hierarchy("toy", (StorageLevel("DRAM"), FanOut("PE", x=4),
    ...                       StorageLevel("RF", capacity_words=64)), Compute(mac_pj=1.0))
    >>> h.level_names, [s.name for s in h.slots]
    (('DRAM', 'RF'), ['DRAM', 'PE.X', 'PE.Y', 'RF'])
    >>> h.instances
    (1, 4)
    """

    name: str
    nodes: tuple[StorageLevel | FanOut, ...]
    compute: Compute = field(default_factory=Compute)
    clock_mhz: float = 1000.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", tuple(self.nodes))
        problems: list[str] = []
        if not self.nodes or not isinstance(self.nodes[0], StorageLevel):
            problems.append("the first (outermost) node must be a storage level")
        elif set(self.nodes[0].keeps) != set(TENSORS):
            problems.append(f"the outermost level {self.nodes[0].name!r} must keep every "
                            f"tensor ({' '.join(TENSORS)})")
        names = [n.name for n in self.nodes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            problems.append(f"node names must be unique, repeated: {dup}")
        for n in self.nodes:
            if not isinstance(n, (StorageLevel, FanOut)):
                problems.append(f"nodes must be StorageLevel or FanOut, got {type(n).__name__}")
        _positive(self.clock_mhz, "clock_mhz", problems)
        if problems:
            raise ArchError(f"hierarchy {self.name!r}: " + "; ".join(problems))

    # -- derived layout (the one place that knows it) ---------------------------------------
    @cached_property
    def levels(self) -> tuple[StorageLevel, ...]:
        return tuple(n for n in self.nodes if isinstance(n, StorageLevel))

    @cached_property
    def fanouts(self) -> tuple[FanOut, ...]:
        return tuple(n for n in self.nodes if isinstance(n, FanOut))

    @property
    def level_names(self) -> tuple[str, ...]:
        return tuple(level.name for level in self.levels)

    @cached_property
    def slots(self) -> tuple[Slot, ...]:
        """Factor slots outer to inner: the ``F`` axis of a mapping's factors."""
        out = []
        for i, node in enumerate(self.nodes):
            if isinstance(node, StorageLevel):
                out.append(Slot(node.name, "temporal", i))
            else:
                out.append(Slot(f"{node.name}.X", "spatial", i, "X"))
                out.append(Slot(f"{node.name}.Y", "spatial", i, "Y"))
        return tuple(out)

    @cached_property
    def temporal_slots(self) -> tuple[int, ...]:
        """``[M]`` slot index of each storage level's temporal loops."""
        return tuple(i for i, s in enumerate(self.slots) if s.kind == "temporal")

    @cached_property
    def spatial_slots(self) -> tuple[int, ...]:
        return tuple(i for i, s in enumerate(self.slots) if s.kind == "spatial")

    @cached_property
    def instances(self) -> tuple[int, ...]:
        """``[M]`` instances of each storage level: the product of the fan-outs above it."""
        out, count = [], 1
        for node in self.nodes:
            if isinstance(node, FanOut):
                count *= node.size
            else:
                out.append(count)
        return tuple(out)

    @property
    def n_compute(self) -> int:
        """Compute instances: the product of every fan-out."""
        return math.prod(f.size for f in self.fanouts)

    @property
    def area_mm2(self) -> float:
        """Every instance of every level and compute unit (`StorageLevel.area_um2`, as given
        or from a technology table: `codesign.cost.levels.with_technology`)."""
        um2 = sum(level.area_um2 * n for level, n in zip(self.levels, self.instances,
                                                          strict=True))
        return (um2 + self.compute.area_um2 * self.n_compute) * 1e-6

    @cached_property
    def keep_mask(self) -> tuple[tuple[bool, ...], ...]:
        """``[M][T]``: level ``m`` may keep tensor ``t`` (before the mapping's bypass choice)."""
        return tuple(tuple(t in level.keeps for t in TENSORS) for level in self.levels)

    def slot_index(self, name: str) -> int:
        for i, s in enumerate(self.slots):
            if s.name == name:
                return i
        raise ArchError(f"hierarchy {self.name!r}: no slot {name!r}; slots are "
                        f"{', '.join(s.name for s in self.slots)}")

    def level_index(self, name: str) -> int:
        try:
            return self.level_names.index(name)
        except ValueError:
            raise ArchError(f"hierarchy {self.name!r}: no storage level {name!r}; levels are "
                            f"{', '.join(self.level_names)}") from None

    def fanout_axis_size(self, slot: int) -> int:
        s = self.slots[slot]
        node = self.nodes[s.node]
        assert isinstance(node, FanOut)
        return node.x if s.axis == "X" else node.y
