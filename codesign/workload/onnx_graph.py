"""ONNX model -> ``networkx.DiGraph`` of ops, each carrying its `Layer` or `VectorOp`.

Weights are never decoded: initializer shapes come from their ``dims`` field, and shape
inference runs on a light copy of the model in which every large initializer (and large
Constant node) is replaced by a typed graph input. So a 100 MB model costs one protobuf
parse plus inference on a graph of a few kB (about 0.1-0.4 s), and external weight data
(the only way past protobuf's 2 GB limit) is never opened.

Shape resolution, in order: the user's overrides (``input_shapes`` replaces a graph
input's shape, ``dims`` sets a named symbolic dim everywhere), ONNX shape inference with
data propagation, then a small constant-folding pass over int shape tensors (Constant,
Shape, Gather, Concat, Unsqueeze, Squeeze, Slice, Transpose, Cast, ConstantOfShape,
Reshape and integer arithmetic, Mod included) whose results are fed back as initializers
for another inference round, where ONNX's own propagation left a dim unknown. Constant and
Shape (from the inferred shapes) are read here; every other op is evaluated one node at a
time by `onnx.reference.ReferenceEvaluator` (numpy, with ONNX's semantics for the model's
opset), and only on int tensors of at most ``SMALL_ELEMENTS`` values, so no weight is ever
decoded or computed with.

Graph form: node id = ONNX node name (made unique; ``op_type_<index>`` when empty); node
attributes ``op_type``, ``layer`` (`Layer` or None), ``vector`` (`VectorOp` or None),
``weight_bytes`` (parameters it reads; ``weight_tensors`` maps their names to bytes),
``input_bytes`` (activations it reads),
``output_bytes``, ``known`` (False for op types costed as generic elementwise ops),
``constant`` (True for a node that only computes weights from weights, such as a QDQ
model's ``DequantizeLinear`` of an int8 initializer: its outputs are weights, stored at the
narrowest width along the chain, and it has neither ``layer`` nor ``vector``), ``view``
(True for a QuantizeLinear -> DequantizeLinear pair on an activation, and for a Slice,
Expand, Tile or one-input Concat that returns its input unchanged: a vector op with no
words and no operations, looked through by fusion).
Edges producer -> consumer carry ``tensor``, ``shape`` and ``bytes`` (``tensors`` lists
every tensor when a pair of nodes shares more than one). Graph attributes: ``source``,
``inputs`` (graph input name -> shape, weights excluded), ``outputs``, ``unknown_ops``
(sorted op types), ``unresolved_vector_ops`` (node names whose size stayed unknown).
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto, helper, numpy_helper

from codesign.errors import ConfigError, WorkloadError
from codesign.workload.ops import (
    MAC_OP_TYPES,
    Dim,
    OpInfo,
    ShapeMismatch,
    TensorInfo,
    UnresolvedShape,
    build_op,
)
from codesign.workload.views import fake_quant_nodes, identity_nodes
from codesign.workload.weights import (
    INT_TYPES,
    SMALL_ELEMENTS,
    constant_nodes,
    elem_bytes,
    stored_bytes,
    weight_names,
)

__all__ = ["parse_onnx", "read_onnx"]

_FOLD_ROUNDS = 4


def read_onnx(path: str | Path, input_shapes: Mapping[str, Sequence[int]] | None = None,
              dims: Mapping[str, int] | None = None) -> nx.DiGraph:
    """Load an ONNX file into an op graph (see the module docstring for its form).

    ``input_shapes`` replaces graph input shapes (``{"input": (1, 3, 224, 224)}``);
    ``dims`` sets named symbolic dims everywhere (``{"batch": 1}``). External weight data
    is never read.

    Raises `WorkloadError` for a missing, non-ONNX or corrupt file and for MAC ops whose
    dims stay unresolved; `ConfigError` for overrides that name nothing in the model.
    """
    path = Path(path)
    if not path.exists():
        raise WorkloadError(f"{path}: no such file; check the model path")
    if path.is_dir():
        raise WorkloadError(f"{path}: is a directory, not an ONNX file; pass the .onnx file")
    if not path.is_file():  # a device or a FIFO (reading one could block forever)
        raise WorkloadError(f"{path}: not a regular file; pass the .onnx file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WorkloadError(f"{path}: cannot read ({exc.strerror}); check its permissions"
                            ) from None
    return parse_onnx(data, source=str(path), input_shapes=input_shapes, dims=dims)


def parse_onnx(data: bytes | onnx.ModelProto, *, source: str = "<bytes>",
               input_shapes: Mapping[str, Sequence[int]] | None = None,
               dims: Mapping[str, int] | None = None) -> nx.DiGraph:
    """Like `read_onnx`, from the serialized bytes (or a ModelProto); ``source`` names it
    in error messages."""
    model = _decode(data, source) if isinstance(data, bytes) else data
    graph = model.graph
    init_shapes = {t.name: (tuple(int(d) for d in t.dims), t.data_type)
                   for t in graph.initializer}
    light = _light_copy(model)
    _apply_overrides(light, source, init_shapes, input_shapes or {}, dims or {})
    shapes = _infer(light, source)
    for _ in range(_FOLD_ROUNDS):
        folded = _fold_shape_tensors(light, shapes)
        if not folded:
            break
        _add_folded(light, folded)
        shapes = _infer(light, source)
    for name, (shape, dtype) in init_shapes.items():
        shapes[name] = (shape, dtype)
    return _build_graph(model, shapes, source, input_shapes or {})


# -- loading ------------------------------------------------------------------------------

def _decode(data: bytes, source: str) -> onnx.ModelProto:
    if not data:
        raise WorkloadError(f"{source}: file is empty; pass an ONNX model file")
    model = onnx.ModelProto()
    try:
        model.ParseFromString(data)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise WorkloadError(f"{source}: not a valid ONNX file (protobuf decode failed: {exc}); "
                            "the file may be truncated or not ONNX — re-export the model"
                            ) from None
    if not model.HasField("graph") or (not model.opset_import and model.ir_version == 0):
        raise WorkloadError(f"{source}: not an ONNX model (no graph or opset); "
                            "pass a .onnx file exported by e.g. torch.onnx.export")
    if len(model.graph.node) == 0:
        raise WorkloadError(f"{source}: the ONNX graph has no nodes; nothing to import")
    _check_names(model.graph, source)
    _check_order(model.graph, source)
    return model


def _check_names(graph: onnx.GraphProto, source: str) -> None:
    """Reject names that are not valid UTF-8: protobuf hands them back as bytes, which
    nothing downstream expects (a corrupt or mutated file)."""
    values = (*graph.input, *graph.output, *graph.value_info)
    for name in (*(v.name for v in values), *(t.name for t in graph.initializer),
                 *(n for node in graph.node
                   for n in (node.name, node.op_type, node.domain, *node.input, *node.output,
                             *(a.name for a in node.attribute)))):
        if not isinstance(name, str):
            raise WorkloadError(f"{source}: not a valid ONNX file (name {name[:40]!r} is not "
                                "UTF-8 text); the file is corrupt — re-export the model")


def _check_order(graph: onnx.GraphProto, source: str) -> None:
    """ONNX lists nodes in topological order; a node that reads a tensor produced by itself
    or a later node means a cycle (or an unsorted graph) that no shape can be inferred for."""
    produced_at: dict[str, int] = {}
    for index, node in enumerate(graph.node):
        for name in node.output:
            if name:
                produced_at.setdefault(name, index)
    for index, node in enumerate(graph.node):
        for name in node.input:
            if produced_at.get(name, -1) >= index:
                later = graph.node[produced_at[name]]
                by = ("by the node itself" if produced_at[name] == index else
                      f"by the later node '{later.name or later.op_type}'")
                raise WorkloadError(
                    f"{source}: {node.op_type} node '{node.name or index}' reads '{name}', "
                    f"produced {by}: the graph has a cycle or is not in topological order "
                    "(ONNX requires it); re-export the model or sort its nodes")


def _light_copy(model: onnx.ModelProto) -> onnx.ModelProto:
    """A copy for shape inference with big initializers and Constants as typed inputs."""
    light = onnx.ModelProto()
    light.ir_version = max(model.ir_version, 4)
    light.opset_import.extend(model.opset_import)
    light.functions.extend(model.functions)
    src, dst = model.graph, light.graph
    dst.name = src.name
    dst.input.extend(src.input)
    dst.output.extend(src.output)
    dst.value_info.extend(src.value_info)
    input_names = {i.name for i in src.input}
    for t in src.initializer:
        if math.prod(t.dims) <= SMALL_ELEMENTS and t.data_location != TensorProto.EXTERNAL:
            dst.initializer.append(t)
        elif t.name not in input_names:
            dst.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
    for node in src.node:
        big = _big_constant(node)
        if big is not None:
            for out in node.output[:1]:
                dst.input.append(helper.make_tensor_value_info(out, big.data_type,
                                                               list(big.dims)))
        else:
            dst.node.append(node)
    return light


def _big_constant(node: onnx.NodeProto) -> TensorProto | None:
    if node.op_type != "Constant" or node.domain not in ("", "ai.onnx"):
        return None
    for attr in node.attribute:
        if attr.name == "value" and attr.type == onnx.AttributeProto.TENSOR:
            t = attr.t
            if math.prod(t.dims) > SMALL_ELEMENTS or t.data_location == TensorProto.EXTERNAL:
                return t
    return None


def _apply_overrides(light: onnx.ModelProto, source: str,
                     init_shapes: Mapping[str, tuple], input_shapes: Mapping[str, Sequence[int]],
                     dims: Mapping[str, int]) -> None:
    graph = light.graph
    user_inputs = {i.name: i for i in graph.input if i.name not in init_shapes}
    unknown = sorted(set(input_shapes) - set(user_inputs))
    if unknown:
        raise ConfigError(
            f"{source}: --input-shape names {', '.join(unknown)}, which "
            f"{'is' if len(unknown) == 1 else 'are'} not graph inputs; inputs: "
            f"{', '.join(user_inputs) or '(none)'}")
    for name, shape in input_shapes.items():
        if any(not 1 <= int(d) < 2**63 for d in shape):
            raise ConfigError(f"--input-shape {name}: dims must be positive int64 values, got "
                              f"{'x'.join(map(str, shape))}")
        tensor_type = user_inputs[name].type.tensor_type
        if tensor_type.HasField("shape") and len(tensor_type.shape.dim) != len(shape):
            rank = len(tensor_type.shape.dim)
            raise ConfigError(
                f"{source}: --input-shape {name}={'x'.join(map(str, shape))} has rank "
                f"{len(shape)}, but the model's input '{name}' has rank {rank} "
                f"({_declared(user_inputs[name])}); give {rank} dims")
        tensor_type.shape.Clear()
        for d in shape:
            tensor_type.shape.dim.add().dim_value = int(d)
    if input_shapes:  # stale intermediate shapes would contradict the new ones
        del graph.value_info[:]
    if dims:
        bad = {k: v for k, v in dims.items() if not 1 <= int(v) < 2**63}
        if bad:
            raise ConfigError(f"--dim: values must be positive int64 values, got {bad}")
        found: set[str] = set()
        for vi in (*graph.input, *graph.output, *graph.value_info):
            if not vi.type.HasField("tensor_type"):
                continue
            for d in vi.type.tensor_type.shape.dim:
                if d.HasField("dim_param") and d.dim_param in dims:
                    found.add(d.dim_param)
                    value = int(dims[d.dim_param])
                    d.Clear()
                    d.dim_value = value
        missing = sorted(set(dims) - found)
        if missing:
            names = sorted(_symbolic_dims(light.graph.input, init_shapes))
            made_up = [m for m in missing if _INFERENCE_DIM.fullmatch(m)]
            why = (f" ({made_up[0]} is ONNX shape inference's name for a size the model "
                   "computes at run time, not a dim the model declares; "
                   f"{_STATIC_EXPORT_ADVICE})" if made_up else "")
            raise ConfigError(
                f"{source}: --dim {', '.join(missing)}: no symbolic dim of that name in the "
                f"model; its symbolic dims: {', '.join(names) or '(none)'}{why}")


def _symbolic_dims(values: Iterable[onnx.ValueInfoProto], skip: Iterable[str] = ()) -> set[str]:
    skip = set(skip)
    return {d.dim_param for vi in values if vi.name not in skip
            and vi.type.HasField("tensor_type")
            for d in vi.type.tensor_type.shape.dim if d.HasField("dim_param")}


def _negative_dim(graph: onnx.GraphProto) -> tuple[str, int] | None:
    """The first (tensor, dim) with a negative dim in ``graph`` or its subgraphs."""
    for vi in (*graph.input, *graph.output, *graph.value_info):
        if vi.type.HasField("tensor_type"):
            for d in vi.type.tensor_type.shape.dim:
                if d.HasField("dim_value") and d.dim_value < 0:
                    return vi.name, d.dim_value
    for t in graph.initializer:
        if any(d < 0 for d in t.dims):
            return t.name, min(t.dims)
    for node in graph.node:
        for attr in node.attribute:
            for sub in (attr.g,) if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                found = _negative_dim(sub)
                if found:
                    return found
    return None


def _infer(light: onnx.ModelProto, source: str) -> dict[str, tuple[tuple[Dim, ...] | None, int]]:
    """Tensor name -> (shape or None, ONNX elem type) after shape inference."""
    negative = _negative_dim(light.graph)
    if negative is not None:  # ONNX's C++ inference can crash the process on these
        name, value = negative
        raise WorkloadError(f"{source}: tensor '{name}' has a negative dim ({value}); ONNX "
                            "dims are >= 0 (an unknown dim is named or left empty): fix the "
                            "export, or set the input's shape with --input-shape")
    try:
        inferred = onnx.shape_inference.infer_shapes(light, check_type=False, strict_mode=False,
                                                     data_prop=True)
    except (onnx.shape_inference.InferenceError, RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkloadError(f"{source}: ONNX shape inference failed: {first}; check the "
                            "model with onnx.checker or fix the input shapes with "
                            "--input-shape/--dim") from None
    g = inferred.graph
    shapes: dict[str, tuple[tuple[Dim, ...] | None, int]] = {}
    for vi in (*g.input, *g.value_info, *g.output):
        if not vi.type.HasField("tensor_type"):
            continue
        tt = vi.type.tensor_type
        shape: tuple[Dim, ...] | None = None
        if tt.HasField("shape"):
            shape = tuple(d.dim_value if d.HasField("dim_value")
                          else (d.dim_param if d.HasField("dim_param") else None)
                          for d in tt.shape.dim)
        old = shapes.get(vi.name)
        if old is None or _n_known(shape) > _n_known(old[0]):
            shapes[vi.name] = (shape, tt.elem_type)
    for t in g.initializer:
        shapes[t.name] = (tuple(int(d) for d in t.dims), t.data_type)
    return shapes


def _fully_known(shapes: Mapping[str, tuple], name: str) -> bool:
    shape = shapes.get(name, (None,))[0]
    return shape is not None and all(isinstance(d, int) for d in shape)


def _n_known(shape: tuple[Dim, ...] | None) -> int:
    return -1 if shape is None else sum(isinstance(d, int) for d in shape)


# -- constant folding of small int shape tensors ------------------------------------------

def _fold_shape_tensors(light: onnx.ModelProto, shapes: Mapping[str, tuple]
                        ) -> dict[str, np.ndarray]:
    """Values of small int tensors computable from constants and known shapes, limited to
    those feeding a node whose output shape is still not fully known."""
    values: dict[str, np.ndarray] = {}
    opset = next((o.version for o in light.opset_import if o.domain in ("", "ai.onnx")),
                 onnx.defs.onnx_opset_version())
    for t in light.graph.initializer:
        if t.data_type in INT_TYPES and math.prod(t.dims) <= SMALL_ELEMENTS:
            try:
                values[t.name] = numpy_helper.to_array(t).astype(np.int64)
            except (ValueError, TypeError):  # dims without (enough) data: not a shape value
                continue
    produced: dict[str, np.ndarray] = {}
    for node in light.graph.node:
        if node.domain not in ("", "ai.onnx") or len(node.output) != 1:
            continue
        try:
            value = _eval_node(node, values, shapes, opset)
        except (ValueError, IndexError, TypeError, KeyError, ZeroDivisionError,
                AttributeError, OverflowError, RuntimeError,
                NotImplementedError):  # best effort: inference decides
            value = None
        if value is not None and value.size <= SMALL_ELEMENTS:
            values[node.output[0]] = value
            produced[node.output[0]] = value
    needed: dict[str, np.ndarray] = {}
    for node in light.graph.node:
        if all(_fully_known(shapes, o) for o in node.output if o):
            continue
        for name in node.input:
            if name in produced:
                needed[name] = produced[name]
    return needed


def _attr(node: onnx.NodeProto, name: str, default: Any = None) -> Any:
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


#: Shape-computation ops `onnx.reference` evaluates for the folding pass, on small int
#: tensors only (its ops are numpy code: no C++ crash on a hostile node). The one op here
#: that makes a tensor of a size read from its input, ConstantOfShape, is size-checked
#: first; ops such as Expand, Tile and Range are not folded at all. Shape and Constant are
#: read here (Shape needs inferred shapes).
_REFERENCE_OPS = frozenset({
    "Identity", "Cast", "Gather", "Concat", "Unsqueeze", "Squeeze", "Slice", "Transpose",
    "Neg", "Abs", "Reshape", "ReduceProd", "ReduceSum", "Add", "Sub", "Mul", "Max", "Min",
    "Equal", "Mod", "Div", "Where", "ConstantOfShape"})


def _eval_node(node: onnx.NodeProto, values: Mapping[str, np.ndarray],
               shapes: Mapping[str, tuple], opset: int) -> np.ndarray | None:
    """Evaluate one shape-computation node on int64 values, or None if it cannot be."""
    op = node.op_type
    if op == "Constant":
        t = _attr(node, "value")
        if isinstance(t, TensorProto):
            return (numpy_helper.to_array(t).astype(np.int64)
                    if t.data_type in INT_TYPES else None)
        for key in ("value_ints", "value_int"):
            v = _attr(node, key)
            if v is not None:
                return np.asarray(v, dtype=np.int64)
        return None
    if op == "Shape":
        shape = shapes.get(node.input[0], (None,))[0]
        if shape is None or not all(isinstance(d, int) for d in shape):
            return None
        start, end = _attr(node, "start", 0), _attr(node, "end", None)
        return np.asarray(shape, dtype=np.int64)[start:end]
    if op not in _REFERENCE_OPS or not node.input:
        return None
    ins = [values.get(n) if n else None for n in node.input]
    if any(v is None for n, v in zip(node.input, ins, strict=True) if n):
        return None
    if op == "Cast" and _attr(node, "to") not in INT_TYPES:
        return None
    if op in ("Div", "Mod") and (ins[1] == 0).any():  # undefined: leave it to inference
        return None
    if op == "ConstantOfShape":
        fill = _attr(node, "value")
        if fill is not None and (not isinstance(fill, TensorProto)
                                 or fill.data_type not in INT_TYPES):
            return None
        if (ins[0] < 0).any() or math.prod(int(d) for d in ins[0]) > SMALL_ELEMENTS:
            return None
    from onnx.reference import ReferenceEvaluator

    feeds = {n: v for n, v in zip(node.input, ins, strict=True) if n}
    if op == "Where":  # the condition is a bool tensor; ours are all int64
        feeds[node.input[0]] = feeds[node.input[0]].astype(bool)
    (out,) = ReferenceEvaluator(node, opsets={"": opset}).run(None, feeds)
    return np.asarray(out).astype(np.int64)


def _add_folded(light: onnx.ModelProto, folded: Mapping[str, np.ndarray]) -> None:
    """Make folded tensors initializers (their producing nodes are dropped)."""
    keep = [n for n in light.graph.node if not (len(n.output) == 1 and n.output[0] in folded)]
    del light.graph.node[:]
    light.graph.node.extend(keep)
    for name, value in folded.items():
        light.graph.initializer.append(numpy_helper.from_array(value.astype(np.int64), name))


# -- the op graph -------------------------------------------------------------------------

def _unique_names(nodes: Sequence[onnx.NodeProto]) -> list[str]:
    names: list[str] = []
    seen: set[str] = set()
    for index, node in enumerate(nodes):
        base = node.name or f"{node.op_type}_{index}"
        name, k = base, 1
        while name in seen:
            k += 1
            name = f"{base}_{k}"
        seen.add(name)
        names.append(name)
    return names


def _build_graph(model: onnx.ModelProto, shapes: Mapping[str, tuple], source: str,
                 input_shapes: Mapping[str, Sequence[int]]) -> nx.DiGraph:
    graph = model.graph
    weights = weight_names(model)
    constant = set(constant_nodes(graph, weights))
    weights.update(n for i in constant for n in graph.node[i].output if n)
    stored = stored_bytes(graph, sorted(constant), shapes)
    views = fake_quant_nodes(graph, constant) | identity_nodes(graph, shapes)
    infos: dict[str, TensorInfo] = {}

    def info(name: str) -> TensorInfo | None:
        if not name:
            return None
        if name not in infos:
            shape, elem = shapes.get(name, (None, TensorProto.FLOAT))
            infos[name] = TensorInfo(name, shape, stored.get(name, elem_bytes(elem)),
                                     name in weights)
        return infos[name]

    init_names = {t.name for t in graph.initializer}
    out = nx.DiGraph(
        source=source,
        inputs={i.name: info(i.name).shape for i in graph.input  # type: ignore[union-attr]
                if i.name not in weights and i.name not in init_names},
        outputs={o.name: info(o.name).shape for o in graph.output},  # type: ignore[union-attr]
    )
    producer: dict[str, str] = {}
    unknown_ops: set[str] = set()
    unresolved: list[UnresolvedShape] = []
    mismatched: list[ShapeMismatch] = []
    unresolved_vectors: list[str] = []
    for index, (node_id, node) in enumerate(zip(_unique_names(graph.node), graph.node,
                                                strict=True)):
        op = OpInfo(name=node_id, op_type=node.op_type,
                    attrs={a.name: _attr_value(a) for a in node.attribute},
                    inputs=tuple(info(n) for n in node.input),
                    outputs=tuple(info(n) for n in node.output),
                    domain=node.domain)
        layer = vector = None
        try:
            built, known = (None, True) if index in constant else build_op(op)
        except UnresolvedShape as exc:
            unresolved.append(exc)
            built, known = None, True
        except ShapeMismatch as exc:
            mismatched.append(exc)
            built, known = None, True
        except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError,
                OverflowError) as exc:  # attributes or shapes no valid model has
            raise WorkloadError(
                f"{source}: {node.op_type} node '{node_id}' has invalid attributes or shapes "
                f"({exc}); check the model with onnx.checker or re-export it") from None
        if not known:
            unknown_ops.add(node.op_type if node.domain in ("", "ai.onnx")
                            else f"{node.domain}.{node.op_type}")
        if built is not None and node.op_type in MAC_OP_TYPES and known:
            layer = built
        elif built is not None:
            vector = built
            if index in views:  # the int8 form of a tensor, or a no-op: nothing moves
                vector = dataclasses.replace(vector, ops=0, words=0)
            if any(t is not None and not t.known for t in op.outputs):
                unresolved_vectors.append(node_id)
        ins = [t for t in op.inputs if t is not None]
        weight_tensors = {t.name: t.n_bytes for t in ins if t.is_weight}
        out.add_node(node_id, op_type=node.op_type, layer=layer, vector=vector, known=known,
                     constant=index in constant, view=index in views,
                     weight_tensors=weight_tensors, weight_bytes=sum(weight_tensors.values()),
                     input_bytes=sum(t.n_bytes for t in ins if not t.is_weight),
                     output_bytes=sum(t.n_bytes for t in op.outputs if t is not None))
        for t in ins:
            src = producer.get(t.name)
            if src is None or src == node_id:
                continue
            if out.has_edge(src, node_id):
                edge = out.edges[src, node_id]
                if t.name not in edge["tensors"]:
                    edge["tensors"] = (*edge["tensors"], t.name)
                    edge["bytes"] += t.n_bytes
                    edge["elements"] += t.elements
            else:
                out.add_edge(src, node_id, tensor=t.name, shape=t.shape, bytes=t.n_bytes,
                             elements=t.elements, tensors=(t.name,))
        for name in node.output:
            if name:
                producer[name] = node_id
    if mismatched:
        raise _mismatch_error(source, mismatched, model, input_shapes)
    if unresolved:
        raise _unresolved_error(source, unresolved, model, weights, shapes)
    out.graph["unknown_ops"] = sorted(unknown_ops)
    out.graph["unresolved_vector_ops"] = unresolved_vectors
    return out


def _attr_value(attr: onnx.AttributeProto) -> Any:
    if attr.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
        return None  # subgraphs (If/Loop/Scan bodies) are not expanded
    return helper.get_attribute_value(attr)


def _declared(value: onnx.ValueInfoProto) -> str:
    """A graph input's shape as the model declares it (``batchx3x224x224``)."""
    tt = value.type.tensor_type
    if not value.type.HasField("tensor_type") or not tt.HasField("shape"):
        return "?"
    return "x".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                    for d in tt.shape.dim)


def _mismatch_error(source: str, mismatched: Sequence[ShapeMismatch], model: onnx.ModelProto,
                    input_shapes: Mapping[str, Sequence[int]]) -> WorkloadError | ConfigError:
    more = f" (and {len(mismatched) - 1} more MAC nodes)" if len(mismatched) > 1 else ""
    if not input_shapes:
        return WorkloadError(f"{source}: {mismatched[0]}{more}; the model's shapes do not "
                             "fit its weights: check it with onnx.checker or re-export it")
    declared = {i.name: i for i in model.graph.input}
    given = ", ".join(f"{name}={'x'.join(map(str, shape))}"
                      for name, shape in input_shapes.items())
    expected = ", ".join(f"'{name}' as {_declared(declared[name])}" for name in input_shapes)
    return ConfigError(f"{source}: --input-shape {given} does not fit the weights: "
                       f"{mismatched[0]}{more}; the model declares {expected}")


#: What ONNX shape inference calls a size it could not compute (``unk__6``).
_INFERENCE_DIM = re.compile(r"unk__\d+")

_STATIC_EXPORT_ADVICE = (
    "re-export the model with static shapes (torch.onnx.export(..., dynamo=True) computes "
    "them at export time), or fold its shape computations with onnx-simplifier (onnxsim)")


def _unresolved_error(source: str, unresolved: Sequence[UnresolvedShape],
                      model: onnx.ModelProto, weights: set[str], shapes: Mapping[str, tuple]
                      ) -> WorkloadError:
    first = unresolved[0]
    more = f" (and {len(unresolved) - 1} more MAC nodes)" if len(unresolved) > 1 else ""
    symbolic = sorted(_symbolic_dims(model.graph.input, weights))
    inputs = [i.name for i in model.graph.input if i.name not in weights]
    example = f"--input-shape {inputs[0] if inputs else 'NAME'}=AxBxC"
    inputs_known = all(_fully_known(shapes, name) for name in inputs)
    made_up = sorted({d for d in (shapes.get(first.tensor, (None,))[0] or ())
                      if isinstance(d, str) and _INFERENCE_DIM.fullmatch(d)})
    if symbolic:
        hint = (f"the model's inputs have symbolic dims ({', '.join(symbolic)}): set them with "
                f"--dim {symbolic[0]}=N, or give whole input shapes with {example}")
    elif inputs_known:  # nothing left to set: the model computes the size at run time
        one = len(made_up) <= 1
        named = ((f"{', '.join(made_up)} {'is' if one else 'are'} ONNX shape inference's "
                  f"{'name for a size' if one else 'names for sizes'}") if made_up
                 else "the size is one")
        hint = (f"the inputs' shapes are all known and {named} that the model computes at run "
                f"time from ops codesign cannot fold, so --dim cannot set {'it' if one else 'them'}"
                f"; {_STATIC_EXPORT_ADVICE}")
    else:
        hint = f"give the graph input shapes with {example}, or --dim NAME=N for a named dim"
    return WorkloadError(f"{source}: {first} with unresolved dims{more}; {hint}")
