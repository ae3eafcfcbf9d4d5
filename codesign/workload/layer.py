"""The workload representation every later stage reads: `Layer`, `VectorOp`, `LayerTable`.

A MAC-bearing op is a perfect loop nest over the dims ``N G K C P Q R S`` (batch, groups,
output channels per group, input channels per group, output rows, output cols, filter rows,
filter cols). Everything else is a `VectorOp` with element and byte counts, so that
non-MAC work is costed rather than ignored.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = [
    "DIMS",
    "DIM_INDEX",
    "RELEVANT_DIMS",
    "TENSORS",
    "Layer",
    "LayerTable",
    "VectorOp",
]

#: Loop dims, in the canonical order used for every ``[..., D]`` tensor axis.
DIMS: tuple[str, ...] = ("N", "G", "K", "C", "P", "Q", "R", "S")
DIM_INDEX: dict[str, int] = {d: i for i, d in enumerate(DIMS)}

#: Tensors in the canonical order used for every ``[..., T]`` tensor axis.
TENSORS: tuple[str, ...] = ("W", "I", "O")

#: Which loop dims index each tensor (DESIGN.md, "Relevance").
RELEVANT_DIMS: dict[str, frozenset[str]] = {
    "W": frozenset("GKCRS"),
    "I": frozenset("NGCPQRS"),
    "O": frozenset("NGKPQ"),
}


def _pair(value: int | Sequence[int], what: str) -> tuple[int, int]:
    if isinstance(value, int):
        pair = (value, value)
    else:
        pair = tuple(int(v) for v in value)
        if len(pair) != 2:
            raise ValueError(f"{what} must be an int or a pair of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{what} must be >= 1, got {value!r}")
    return pair  # type: ignore[return-value]


@dataclass(frozen=True)
class Layer:
    """One MAC-bearing op as a loop nest over ``N G K C P Q R S``.

    Equality and hashing use the shape only (dims, strides, dilations), so identical
    layers from different nodes group into one `LayerTable` row.

    Examples
    --------
    >>> conv = Layer.conv(K=64, C=3, P=112, Q=112, R=7, S=7, stride=2)
    >>> conv.macs
    118013952
    >>> conv.input_hw
    (229, 229)
    >>> Layer.gemm(M=128, K=768, N=3072).dims
    (1, 1, 3072, 768, 128, 1, 1, 1)
    """

    N: int
    G: int
    K: int
    C: int
    P: int
    Q: int
    R: int
    S: int
    stride: tuple[int, int] = (1, 1)
    dilation: tuple[int, int] = (1, 1)
    name: str = field(default="", compare=False)
    op_type: str = field(default="Conv", compare=False)

    def __post_init__(self) -> None:
        bad = [f"{d}={getattr(self, d)!r}" for d in DIMS if not _is_positive_int(getattr(self, d))]
        if bad:
            raise ValueError(
                f"layer {self.name or '?'}: dims must be positive ints: {', '.join(bad)}")
        object.__setattr__(self, "stride", _pair(self.stride, "stride"))
        object.__setattr__(self, "dilation", _pair(self.dilation, "dilation"))

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def conv(
        cls,
        *,
        K: int,
        C: int,
        P: int,
        Q: int,
        R: int = 1,
        S: int = 1,
        N: int = 1,
        G: int = 1,
        stride: int | Sequence[int] = 1,
        dilation: int | Sequence[int] = 1,
        name: str = "",
        op_type: str = "Conv",
    ) -> Layer:
        """A convolution from its canonical dims; ``K`` and ``C`` are per group."""
        return cls(N, G, K, C, P, Q, R, S, _pair(stride, "stride"), _pair(dilation, "dilation"),
                   name, op_type)

    @classmethod
    def depthwise(
        cls, *, channels: int, P: int, Q: int, R: int, S: int, N: int = 1,
        stride: int | Sequence[int] = 1, dilation: int | Sequence[int] = 1, name: str = "",
    ) -> Layer:
        """A depthwise convolution: ``G = channels``, ``K = C = 1``."""
        return cls.conv(K=1, C=1, P=P, Q=Q, R=R, S=S, N=N, G=channels, stride=stride,
                        dilation=dilation, name=name)

    @classmethod
    def gemm(cls, *, M: int, K: int, N: int, batch: int = 1, name: str = "",
             op_type: str = "Gemm") -> Layer:
        """``[M x K] @ [K x N]`` (repeated ``batch`` times): ``P = M, C = K, K = N, G = batch``."""
        return cls(1, batch, N, K, M, 1, 1, 1, (1, 1), (1, 1), name, op_type)

    # -- derived sizes ------------------------------------------------------------------
    @property
    def dims(self) -> tuple[int, ...]:
        """Loop bounds in `DIMS` order."""
        return tuple(getattr(self, d) for d in DIMS)

    @property
    def shape_key(self) -> tuple:
        """What identifies the shape: equal keys cost the same."""
        return (self.dims, self.stride, self.dilation)

    @property
    def input_hw(self) -> tuple[int, int]:
        """Input rows and cols the nest reads: ``(P-1)*stride + (R-1)*dilation + 1``."""
        h = (self.P - 1) * self.stride[0] + (self.R - 1) * self.dilation[0] + 1
        w = (self.Q - 1) * self.stride[1] + (self.S - 1) * self.dilation[1] + 1
        return h, w

    @property
    def macs(self) -> int:
        return math.prod(self.dims)

    @property
    def weight_words(self) -> int:
        return self.G * self.K * self.C * self.R * self.S

    @property
    def input_words(self) -> int:
        h, w = self.input_hw
        return self.N * self.G * self.C * h * w

    @property
    def output_words(self) -> int:
        return self.N * self.G * self.K * self.P * self.Q

    def to_dict(self) -> dict:
        """Plain data (JSON-ready), the inverse of `from_dict`."""
        out: dict = {"name": self.name, "op_type": self.op_type}
        out.update({d: getattr(self, d) for d in DIMS})
        out["stride"] = list(self.stride)
        out["dilation"] = list(self.dilation)
        return out

    @classmethod
    def from_dict(cls, data: dict) -> Layer:
        dims = {d: int(data.get(d, 1)) for d in DIMS}
        return cls(**dims, stride=tuple(data.get("stride", (1, 1))),
                   dilation=tuple(data.get("dilation", (1, 1))),
                   name=str(data.get("name", "")), op_type=str(data.get("op_type", "Conv")))


def _is_positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class VectorOp:
    """A non-MAC op (elementwise, activation, pooling, softmax, norm, data movement).

    ``ops`` counts arithmetic operations (e.g. an element of a ReLU is 1, of a softmax about 5);
    a pure data-movement op (Concat, Transpose) has ``ops = 0`` but still moves data.
    ``bytes_in``/``bytes_out`` are the tensors' sizes in the model's own element types (what
    ``inspect`` reports). ``words`` is what the cost model charges: accelerator words (one per
    element, whatever the model's dtype, as for MAC layers) the op moves from and to DRAM;
    a view (Reshape, Flatten, Squeeze, Unsqueeze, Identity) moves none, and an op fused into
    the output stream of its producer (``fused_into`` names the head of that chain, see
    `codesign.workload.fusion`) moves only its other operands.
    """

    name: str
    op_type: str
    elements: int
    bytes_in: int
    bytes_out: int
    ops: int
    words: int = 0
    fused_into: str = ""

    def to_dict(self) -> dict:
        return {"name": self.name, "op_type": self.op_type, "elements": self.elements,
                "bytes_in": self.bytes_in, "bytes_out": self.bytes_out, "ops": self.ops,
                "words": self.words, "fused_into": self.fused_into}


@dataclass(frozen=True)
class LayerTable:
    """Unique MAC layers with how often each occurs, plus the vector ops.

    ``layers[i]`` stands for ``counts[i]`` identical layers; ``names[i]`` lists the node
    names it stands for. Costs of the network are ``sum(counts[i] * cost(layers[i]))``.

    >>> table = LayerTable.from_layers([Layer.gemm(M=4, K=8, N=8, name="a"),
    ...                                 Layer.gemm(M=4, K=8, N=8, name="b")])
    >>> len(table), table.counts, table.total_macs
    (1, (2,), 512)
    """

    layers: tuple[Layer, ...]
    counts: tuple[int, ...]
    names: tuple[tuple[str, ...], ...]
    vector_ops: tuple[VectorOp, ...] = ()

    @classmethod
    def from_layers(cls, layers: Iterable[Layer],
                    vector_ops: Iterable[VectorOp] = ()) -> LayerTable:
        """Group identical shapes, keeping first-seen order."""
        groups: dict[tuple, list[Layer]] = {}
        for layer in layers:
            groups.setdefault(layer.shape_key, []).append(layer)
        firsts = tuple(g[0] for g in groups.values())
        counts = tuple(len(g) for g in groups.values())
        names = tuple(tuple(layer.name for layer in g) for g in groups.values())
        return cls(firsts, counts, names, tuple(vector_ops))

    def __len__(self) -> int:
        return len(self.layers)

    @property
    def total_macs(self) -> int:
        return sum(c * layer.macs for layer, c in zip(self.layers, self.counts, strict=True))

    @property
    def n_mac_layers(self) -> int:
        return sum(self.counts)
