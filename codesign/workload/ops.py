"""Op handlers: one ONNX node (with inferred shapes) -> a `Layer` or a `VectorOp`.

`OP_HANDLERS` maps an ONNX ``op_type`` to a function ``handler(op: OpInfo) -> Layer |
VectorOp``. MAC ops (Conv, ConvTranspose, Gemm, MatMul and their quantised forms) build a
`Layer`; every other op is a `VectorOp` whose ``ops`` is a per-element estimate times the
element count. Ops missing from the table are costed as generic elementwise ops (one
operation per output element) and reported by the importer as unknown.

A handler that needs a dim the shape inference could not resolve raises `UnresolvedShape`,
one whose input does not fit its weight (channels, contracted features) `ShapeMismatch`;
the importer collects those and turns them into one error for the file.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from codesign.workload.layer import Layer, VectorOp

__all__ = [
    "MAC_OP_TYPES",
    "OP_HANDLERS",
    "VECTOR_OPS_PER_ELEMENT",
    "VIEW_OPS",
    "WEIGHT_SLOTS",
    "OpInfo",
    "ShapeMismatch",
    "TensorInfo",
    "UnresolvedShape",
    "build_op",
]

#: A dim is an int when known, a str for a named symbolic dim, None when unknown.
Dim = int | str | None


@dataclass(frozen=True)
class TensorInfo:
    """A tensor as the importer sees it: name, inferred shape (None: rank unknown),
    bytes per element, and whether it is a weight (initializer, Constant, or a graph input
    feeding a weight slot)."""

    name: str
    shape: tuple[Dim, ...] | None
    elem_bytes: int
    is_weight: bool = False

    @property
    def known(self) -> bool:
        return self.shape is not None and all(isinstance(d, int) for d in self.shape)

    @property
    def elements(self) -> int:
        """Element count (0 when the shape is not fully known)."""
        return math.prod(self.shape) if self.known else 0  # type: ignore[arg-type]

    @property
    def n_bytes(self) -> int:
        return self.elements * self.elem_bytes


@dataclass(frozen=True)
class OpInfo:
    """One ONNX node with its attributes and the tensors it reads and writes.

    ``inputs[i]`` is None for an omitted optional input (empty name in ONNX).
    """

    name: str
    op_type: str
    attrs: dict[str, Any]
    inputs: tuple[TensorInfo | None, ...]
    outputs: tuple[TensorInfo | None, ...]
    domain: str = ""

    def input(self, i: int) -> TensorInfo | None:
        return self.inputs[i] if i < len(self.inputs) else None

    def output(self, i: int) -> TensorInfo | None:
        return self.outputs[i] if i < len(self.outputs) else None


class UnresolvedShape(Exception):
    """A MAC op needs a dim that is symbolic or unknown (internal; becomes WorkloadError)."""

    def __init__(self, node: str, op_type: str, tensor: str, shape: object) -> None:
        super().__init__(f"{op_type} node '{node}': tensor '{tensor}' has shape {shape}")
        self.node = node
        self.op_type = op_type
        self.tensor = tensor
        self.shape = shape


class ShapeMismatch(Exception):
    """A MAC op's input does not fit its weight (or second operand): internal, the importer
    turns it into a `WorkloadError`, or a `ConfigError` when ``--input-shape`` caused it."""

    def __init__(self, op: OpInfo, data: TensorInfo, other: TensorInfo, what: str, got: int,
                 expected: int) -> None:
        role = "weight" if other.is_weight else "other operand"
        super().__init__(
            f"{op.op_type} node '{op.name}' reads {got} {what} from '{data.name}' "
            f"({_shown(data.shape)}) but its {role} '{other.name}' ({_shown(other.shape)}) "
            f"takes {expected}")


def _shown(shape: tuple[Dim, ...] | None) -> str:
    return "?" if shape is None else "x".join("?" if d is None else str(d) for d in shape)


def _check_fits(op: OpInfo, data: TensorInfo | None, axis: int, other: TensorInfo | None,
                expected: int, what: str) -> None:
    """Raise `ShapeMismatch` if ``data``'s dim ``axis`` is known and is not ``expected``."""
    if data is None or other is None or data.shape is None or not data.shape:
        return
    got = data.shape[axis] if -len(data.shape) <= axis < len(data.shape) else None
    if isinstance(got, int) and got != expected:
        raise ShapeMismatch(op, data, other, what, got, expected)


def _shape(op: OpInfo, t: TensorInfo | None, what: str, rank: int | None = None
           ) -> tuple[int, ...]:
    """The fully known int shape of ``t``, or raise `UnresolvedShape`."""
    if t is None:
        raise UnresolvedShape(op.name, op.op_type, f"<missing {what}>", None)
    if not t.known or (rank is not None and len(t.shape) != rank):  # type: ignore[arg-type]
        raise UnresolvedShape(op.name, op.op_type, t.name,
                              None if t.shape is None else _shown(t.shape))
    return t.shape  # type: ignore[return-value]


def _ints(value: Any, n: int, default: int) -> list[int]:
    if value is None:
        return [default] * n
    return [int(v) for v in value]


# -- MAC ops ------------------------------------------------------------------------------

def _conv_output_size(size: int, k: int, stride: int, dilation: int, pad_total: int) -> int:
    return (size + pad_total - dilation * (k - 1) - 1) // stride + 1


def _conv_layer(op: OpInfo, x_idx: int, w_idx: int) -> Layer:
    """Conv: ``K = C_out / group``, ``C = C_in / group`` (the weight's dim 1), ``G = group``.

    P, Q come from the inferred output shape (or, if missing, from the input shape, pads
    and auto_pad). 1-D convs use ``Q = S = 1``; 3-D convs fold the output depth into N and
    the kernel depth into C, which keeps MACs and weight size exact (input size approximate).
    """
    w = _shape(op, op.input(w_idx), "weight")
    if len(w) < 3:
        raise UnresolvedShape(op.name, op.op_type, op.input(w_idx).name, w)  # type: ignore[union-attr]
    group = int(op.attrs.get("group", 1))
    if group < 1:
        raise ValueError(f"group {group}: it must be at least 1")
    x_info = op.input(x_idx)
    if x_info is not None and x_info.shape is not None and len(x_info.shape) == len(w):
        _check_fits(op, x_info, 1, op.input(w_idx), w[1] * group, "channels")
    n_spatial = len(w) - 2
    kernel = list(w[2:])
    strides = _ints(op.attrs.get("strides"), n_spatial, 1)
    dilations = _ints(op.attrs.get("dilations"), n_spatial, 1)
    out = _output_spatial(op, x_idx, kernel, strides, dilations)
    n = out[0]
    spatial_out = list(out[2:])
    k_per_group = w[0] // group
    c_per_group = w[1]
    if n_spatial == 1:
        spatial_out, kernel = spatial_out + [1], kernel + [1]
        strides, dilations = strides + [1], dilations + [1]
    elif n_spatial == 3:
        n *= spatial_out.pop(0)
        c_per_group *= kernel.pop(0)
        strides, dilations = strides[1:], dilations[1:]
    elif n_spatial != 2:
        raise UnresolvedShape(op.name, op.op_type, op.input(w_idx).name, w)  # type: ignore[union-attr]
    return Layer(N=n, G=group, K=k_per_group, C=c_per_group, P=spatial_out[0],
                 Q=spatial_out[1], R=kernel[0], S=kernel[1], stride=tuple(strides),
                 dilation=tuple(dilations), name=op.name, op_type=op.op_type)


def _output_spatial(op: OpInfo, x_idx: int, kernel: list[int], strides: list[int],
                    dilations: list[int]) -> tuple[int, ...]:
    """The conv output shape ``[N, C_out, *spatial]``: inferred, else computed."""
    y = op.output(0)
    if y is not None and y.known and len(y.shape) == len(kernel) + 2:  # type: ignore[arg-type]
        return y.shape  # type: ignore[return-value]
    x = _shape(op, op.input(x_idx), "input", rank=len(kernel) + 2)
    auto_pad = op.attrs.get("auto_pad", b"NOTSET")
    auto_pad = auto_pad.decode() if isinstance(auto_pad, bytes) else str(auto_pad)
    pads = _ints(op.attrs.get("pads"), 2 * len(kernel), 0)
    spatial = []
    for i, (size, k, s, d) in enumerate(zip(x[2:], kernel, strides, dilations, strict=True)):
        if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
            spatial.append(-(-size // s))
        elif auto_pad == "VALID":
            spatial.append(_conv_output_size(size, k, s, d, 0))
        else:
            spatial.append(_conv_output_size(size, k, s, d, pads[i] + pads[i + len(kernel)]))
    if min(spatial) < 1:
        raise UnresolvedShape(op.name, op.op_type, op.input(x_idx).name, x)  # type: ignore[union-attr]
    return (x[0], 0, *spatial)


def conv(op: OpInfo) -> Layer:
    return _conv_layer(op, 0, 1)


def qlinear_conv(op: OpInfo) -> Layer:
    return _conv_layer(op, 0, 3)


def conv_transpose(op: OpInfo) -> Layer:
    """ConvTranspose as the conv that does its useful work.

    A transposed conv scatters every input pixel through the whole kernel, so its useful
    MACs are ``N * G * K * C * H_in * W_in * R * S`` (the direct conv over the zero-inserted
    input would also count the multiplications by inserted zeros). We pick the canonical
    layer with those MACs: ``P, Q = H_in, W_in``, stride 1, dilation 1, ``R, S`` = kernel,
    ``C = C_in / group``, ``K = C_out / group`` (the weight is ``[C_in, C_out/group, kH, kW]``).
    MACs and weight size are exact; input and output sizes are those of the scatter view.
    """
    x = _shape(op, op.input(0), "input")
    w = _shape(op, op.input(1), "weight", rank=len(x))
    group = int(op.attrs.get("group", 1))
    _check_fits(op, op.input(0), 1, op.input(1), w[0], "channels")
    spatial = list(x[2:])
    kernel = list(w[2:])
    n = x[0]
    c_per_group = x[1] // group
    if len(spatial) == 1:
        spatial, kernel = spatial + [1], kernel + [1]
    elif len(spatial) == 3:
        n *= spatial.pop(0)
        c_per_group *= kernel.pop(0)
    elif len(spatial) != 2:
        raise UnresolvedShape(op.name, op.op_type, op.input(0).name, x)  # type: ignore[union-attr]
    return Layer(N=n, G=group, K=w[1], C=c_per_group, P=spatial[0], Q=spatial[1],
                 R=kernel[0], S=kernel[1], name=op.name, op_type=op.op_type)


def gemm(op: OpInfo) -> Layer:
    """Gemm ``Y = op(A) @ op(B) + C``: ``P = M``, ``C = K``, ``K = N`` (transA/transB honoured)."""
    a = _shape(op, op.input(0), "A", rank=2)
    b = _shape(op, op.input(1), "B", rank=2)
    m, kd = (a[1], a[0]) if op.attrs.get("transA", 0) else (a[0], a[1])
    nd, b_kd = (b[0], b[1]) if op.attrs.get("transB", 0) else (b[1], b[0])
    _check_fits(op, op.input(0), 0 if op.attrs.get("transA", 0) else 1, op.input(1), b_kd,
                "features")
    return Layer.gemm(M=m, K=kd, N=nd, name=op.name, op_type=op.op_type)


def _matmul_layer(op: OpInfo, a_idx: int, b_idx: int) -> Layer:
    """N-D MatMul ``[..., M, Kd] @ [..., Kd, Nd]`` with numpy broadcasting.

    ``P = M, C = Kd, K = Nd``. Each broadcast batch dim goes where the relevance rules put
    it: a dim that only the first operand has (the second, e.g. a weight, is shared along it)
    goes to N, which the second operand ignores; a dim both operands have (attention's batch
    and heads) goes to G. A dim only the second operand has also goes to G (the first operand
    is then counted as if it differed along it). 1-D operands get the usual ONNX promotion.
    """
    a = _shape(op, op.input(a_idx), "A")
    b = _shape(op, op.input(b_idx), "B")
    if len(a) == 0 or len(b) == 0:
        raise UnresolvedShape(op.name, op.op_type, op.input(a_idx).name, a)  # type: ignore[union-attr]
    a2 = (1, a[0]) if len(a) == 1 else a
    b2 = (b[0], 1) if len(b) == 1 else b
    m, kd, nd = a2[-2], a2[-1], b2[-1]
    _check_fits(op, op.input(a_idx), -1, op.input(b_idx), b2[-2], "features")
    batch_a, batch_b = a2[:-2], b2[:-2]
    rank = max(len(batch_a), len(batch_b))
    batch_a = (1,) * (rank - len(batch_a)) + tuple(batch_a)
    batch_b = (1,) * (rank - len(batch_b)) + tuple(batch_b)
    n = g = 1
    for da, db in zip(batch_a, batch_b, strict=True):
        if db == 1:
            n *= da
        else:
            g *= max(da, db)
    return Layer(N=n, G=g, K=nd, C=kd, P=m, Q=1, R=1, S=1, name=op.name, op_type=op.op_type)


def matmul(op: OpInfo) -> Layer:
    return _matmul_layer(op, 0, 1)


def qlinear_matmul(op: OpInfo) -> Layer:
    return _matmul_layer(op, 0, 3)


# -- vector ops ---------------------------------------------------------------------------

#: Arithmetic operations per output element (rough, documented estimates). Data movement
#: and shape ops are 0: they move bytes but compute nothing.
VECTOR_OPS_PER_ELEMENT: dict[str, int] = {
    # elementwise arithmetic and activations
    **dict.fromkeys(["Add", "Sub", "Mul", "Div", "Neg", "Abs", "Relu", "LeakyRelu", "PRelu",
                     "Clip", "Max", "Min", "Sum", "Mean", "Sqrt", "Reciprocal", "Pow", "Exp",
                     "Log", "Floor", "Ceil", "Round", "Sign", "Equal", "Less", "Greater",
                     "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor", "Where",
                     "Mod", "BitShift", "IsNaN", "IsInf", "Dropout", "QuantizeLinear",
                     "DequantizeLinear", "Elu", "Selu", "Celu", "ThresholdedRelu", "Softplus",
                     "Softsign"], 1),
    "BatchNormalization": 2,  # inference: one scale and one shift per element
    "InstanceNormalization": 8,
    "LayerNormalization": 8,  # mean, variance, subtract, divide, scale, shift
    "GroupNormalization": 8,
    "RMSNormalization": 6,
    "LRN": 8,
    "Softmax": 5,  # max, subtract, exp, sum, divide
    "LogSoftmax": 6,
    "Sigmoid": 4,
    "HardSigmoid": 3,
    "HardSwish": 3,
    "Tanh": 4,
    "Erf": 4,
    "Gelu": 8,
    "Mish": 8,
    "Swish": 5,
    "Resize": 4,  # bilinear: 4 taps per output element (nearest moves bytes only)
    "Upsample": 4,
    # data movement and shape ops
    **dict.fromkeys(["Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Concat",
                     "Split", "Slice", "Gather", "GatherElements", "GatherND", "Scatter",
                     "ScatterElements", "ScatterND", "Identity", "Shape", "Size", "Constant",
                     "ConstantOfShape", "Cast", "CastLike", "Pad", "Expand", "Tile", "Range",
                     "DepthToSpace", "SpaceToDepth", "NonZero", "OneHot", "Trilu",
                     "EyeLike"], 0),
}

_SELECTS = {"Gather", "GatherElements", "GatherND", "Slice"}
_POOLS = {"MaxPool", "AveragePool", "LpPool"}
_GLOBAL_POOLS = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}
_REDUCES = {"ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1",
            "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare", "ArgMax",
            "ArgMin", "CumSum", "TopK"}


#: Ops that only change how a tensor is indexed: no data moves and nothing is computed, so
#: they cost nothing (``words = 0``) and do not break a fused chain (`codesign.workload.fusion`).
VIEW_OPS: frozenset[str] = frozenset({"Reshape", "Flatten", "Squeeze", "Unsqueeze", "Identity"})


def _read(op: OpInfo, size: Callable[[TensorInfo], int]) -> int:
    """What ``op`` reads of its inputs, in ``size`` units (bytes or elements)."""
    if op.op_type in ("Shape", "Size"):  # read only metadata, not the tensor
        return 0
    if op.op_type in _SELECTS:  # read the selected part (= output) plus the indices
        return (sum(size(t) for t in op.outputs if t is not None)
                + sum(size(t) for t in op.inputs[1:] if t is not None))
    return sum(size(t) for t in op.inputs if t is not None)


def _vector(op: OpInfo, ops_per_element: int | None) -> VectorOp:
    out_elements = sum(t.elements for t in op.outputs if t is not None)
    bytes_out = sum(t.n_bytes for t in op.outputs if t is not None)
    bytes_in = _read(op, lambda t: t.n_bytes)
    words = 0 if op.op_type in VIEW_OPS else _read(op, lambda t: t.elements) + out_elements
    if ops_per_element is None:  # reductions: one operation per input element read
        first = op.input(0)
        n_ops = first.elements if first is not None else 0
    else:
        n_ops = ops_per_element * out_elements
    return VectorOp(name=op.name, op_type=op.op_type, elements=out_elements,
                    bytes_in=bytes_in, bytes_out=bytes_out, ops=n_ops, words=words)


def pool(op: OpInfo) -> VectorOp:
    """Windowed pooling: one operation per kernel tap per output element."""
    taps = math.prod(int(k) for k in op.attrs.get("kernel_shape", [1]))
    return _vector(op, taps)


def vector_op(op: OpInfo) -> VectorOp:
    """Any non-MAC op: per-element estimate from `VECTOR_OPS_PER_ELEMENT` (unknown: 1)."""
    if op.op_type in _GLOBAL_POOLS or op.op_type in _REDUCES:
        return _vector(op, None)
    return _vector(op, VECTOR_OPS_PER_ELEMENT.get(op.op_type, 1))


Handler = Callable[[OpInfo], "Layer | VectorOp"]

#: op_type -> handler. MAC ops build a `Layer`; the rest a `VectorOp`.
OP_HANDLERS: dict[str, Handler] = {
    "Conv": conv,
    "ConvInteger": conv,
    "QLinearConv": qlinear_conv,
    "ConvTranspose": conv_transpose,
    "Gemm": gemm,
    "MatMul": matmul,
    "MatMulInteger": matmul,
    "QLinearMatMul": qlinear_matmul,
    **dict.fromkeys(_POOLS, pool),
    **dict.fromkeys(_GLOBAL_POOLS | _REDUCES, vector_op),
    **dict.fromkeys(VECTOR_OPS_PER_ELEMENT, vector_op),
}

MAC_OP_TYPES: frozenset[str] = frozenset(
    k for k, h in OP_HANDLERS.items() if h in (conv, qlinear_conv, conv_transpose, gemm, matmul,
                                                qlinear_matmul))

#: Which input slots of a MAC op hold weights (a graph input there is a weight).
WEIGHT_SLOTS: dict[str, tuple[int, ...]] = {
    "Conv": (1, 2), "ConvInteger": (1,), "QLinearConv": (3, 8), "ConvTranspose": (1, 2),
    "Gemm": (1, 2), "MatMul": (1,), "MatMulInteger": (1,), "QLinearMatMul": (3,),
}


def build_op(op: OpInfo) -> tuple[Layer | VectorOp, bool]:
    """Dispatch ``op`` to its handler: returns the built op and whether the op type is known.

    Raises `UnresolvedShape` when a MAC op's dims cannot be resolved.

    >>> x = TensorInfo("x", (1, 3, 8, 8), 4)
    >>> w = TensorInfo("w", (16, 3, 3, 3), 4, is_weight=True)
    >>> y = TensorInfo("y", (1, 16, 8, 8), 4)
    >>> layer, known = build_op(OpInfo("conv", "Conv", {"pads": [1, 1, 1, 1]}, (x, w), (y,)))
    >>> layer.dims, layer.macs  # 16 * 3 * 8*8 * 3*3
    ((1, 1, 16, 3, 8, 8, 3, 3), 27648)
    """
    handler = OP_HANDLERS.get(op.op_type) if op.domain in ("", "ai.onnx") else None
    if handler is None:
        return vector_op(op), False
    return handler(op), True
