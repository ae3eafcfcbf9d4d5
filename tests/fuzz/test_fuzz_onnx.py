"""Hostile ONNX input: the importer raises only `CodesignError`, and the CLI answers one line
and exit code 2, never a traceback (docs/GUARANTEES.md, "Inputs").

Mutated and truncated protobufs come from hypothesis (bounded: a few seconds in CI); every
crash the fuzzing found is pinned below as a named regression case.
"""

from __future__ import annotations

import os

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

from codesign.cli import main
from codesign.errors import CodesignError, WorkloadError
from codesign.workload.onnx_graph import parse_onnx
from codesign.workload.summary import workload_summary
from codesign.workload.table import MAX_DIM, MAX_LAYER_COUNT, layer_table

F = TensorProto.FLOAT
#: CI runs a fixed, fast sample; CODESIGN_FUZZ_EXAMPLES=5000 (and a random seed) fuzzes longer.
N_EXAMPLES = int(os.environ.get("CODESIGN_FUZZ_EXAMPLES", "150"))
FUZZ = settings(max_examples=N_EXAMPLES, deadline=None, derandomize="CODESIGN_FUZZ_EXAMPLES"
                not in os.environ, suppress_health_check=[HealthCheck.too_slow], database=None)


def _model(conv_attrs: dict | None = None, x_shape=(1, 3, 8, 8), w_shape=(4, 3, 3, 3),
           names: dict | None = None, g_shape=(10, 256)) -> onnx.ModelProto:
    """Conv -> Relu -> Flatten -> Gemm on a 1x3x8x8 input: the valid seed every case breaks."""
    attrs = {"pads": [1, 1, 1, 1], "strides": [1, 1]} if conv_attrs is None else conv_attrs
    names = names or {}
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name=names.get("conv", "conv"),
                              **attrs),
             helper.make_node("Relu", ["y"], ["z"], name="relu"),
             helper.make_node("Flatten", ["z"], ["f"], name="flat"),
             helper.make_node("Gemm", ["f", "g"], ["out"], name="fc", transB=1)]
    graph = helper.make_graph(
        nodes, "seed",
        [helper.make_tensor_value_info("x", F, list(x_shape)),
         helper.make_tensor_value_info("w", F, list(w_shape)),
         helper.make_tensor_value_info("g", F, list(g_shape))],
        [helper.make_tensor_value_info("out", F, None)],
        [numpy_helper.from_array(np.zeros(4, np.float32), "unused_bias")])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


SEED = _model().SerializeToString()


def _import(data: bytes | onnx.ModelProto) -> None:
    """The library path of `codesign inspect`: parse, layer table, summary."""
    workload_summary(parse_onnx(data, source="fuzz.onnx"))


def _library_is_clean(data: bytes | onnx.ModelProto) -> None:
    try:
        _import(data)
    except CodesignError as exc:
        assert "\n" not in str(exc), str(exc)


def _cli_is_clean(path) -> None:
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code in (0, 2), (result.exit_code, result.output, result.exception)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, \
            result.stderr


def test_seed_model_imports():
    """The fuzz seed is valid, so the mutations below start from a model that works:
    conv 4*3 * 8*8 * 3*3 = 6912 MACs plus fc 256*10 = 2560."""
    assert workload_summary(parse_onnx(SEED))["totals"]["macs"] == 6912 + 2560


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(["flip", "insert", "delete"]),
                          st.integers(0, len(SEED) - 1), st.binary(min_size=1, max_size=8)),
                min_size=1, max_size=4))
def test_mutated_protobuf_raises_only_codesign_errors(edits):
    data = bytearray(SEED)
    for kind, pos, chunk in edits:
        pos %= max(len(data), 1)
        if kind == "flip":
            data[pos:pos + len(chunk)] = bytes(b ^ 0xFF if b == 0 else b for b in chunk)
        elif kind == "insert":
            data[pos:pos] = chunk
        else:
            del data[pos:pos + len(chunk)]
    _library_is_clean(bytes(data))


@FUZZ
@given(st.integers(0, len(SEED)))
def test_truncated_protobuf_raises_only_codesign_errors(length):
    _library_is_clean(SEED[:length])


_ATTR_VALUES = st.one_of(st.integers(-3, 3), st.text(max_size=3), st.floats(-2, 2),
                         st.lists(st.integers(-2, 4), min_size=1, max_size=5))


@FUZZ
@given(st.dictionaries(st.sampled_from(["strides", "pads", "dilations", "group",
                                        "kernel_shape", "auto_pad"]),
                       _ATTR_VALUES, max_size=3))
def test_conv_attributes_of_any_type_raise_only_codesign_errors(attrs):
    _library_is_clean(_model(conv_attrs=attrs).SerializeToString())


_DIM = st.one_of(st.integers(-2, 12), st.sampled_from([2**31, 2**40, 2**62]))


@FUZZ
@given(st.tuples(_DIM, _DIM, _DIM, _DIM), st.tuples(_DIM, _DIM, _DIM, _DIM))
def test_zero_negative_and_huge_dims_raise_only_codesign_errors(x_shape, w_shape):
    _library_is_clean(_model(x_shape=x_shape, w_shape=w_shape).SerializeToString())


# -- regression cases: each one crashed with a traceback before it was fixed ----------------

def _non_utf8_names() -> bytes:
    data = _model(names={"conv": "convZZ"}).SerializeToString()
    return data.replace(b"convZZ", b"conv\xff\xfe")


def _graph(nodes, inputs) -> bytes:
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info(n, F, s)
                                           for n, s in inputs],
                              [helper.make_tensor_value_info(nodes[-1].output[0], F, None)])
    return helper.make_model(graph).SerializeToString()


def _constant_of_shape_with_a_list() -> bytes:
    nodes = [helper.make_node("ConstantOfShape", ["s"], ["c"], name="cos", value=[1, 2]),
             helper.make_node("MatMul", ["c", "c"], ["y"], name="mm")]
    graph = helper.make_graph(nodes, "g", [], [helper.make_tensor_value_info("y", F, None)],
                              [numpy_helper.from_array(np.array([2, 2], np.int64), "s")])
    return helper.make_model(graph).SerializeToString()


REGRESSIONS = {
    # ZeroDivisionError in the output-size formula
    "strides 0": (_model({"strides": [0, 0]}), "invalid attributes"),
    # ZeroDivisionError in K = C_out / group
    "group 0": (_model({"group": 0}), "invalid attributes"),
    # ValueError from Layer: G=-2
    "group negative": (_model({"group": -2}), "invalid attributes"),
    # ValueError: int(b'x')
    "group a string": (_model({"group": "x"}), "invalid attributes"),
    # IndexError: pads shorter than 2 per spatial dim
    "pads too short": (_model({"pads": [1]}), "invalid attributes"),
    "pads a string": (_model({"pads": "p"}), "invalid attributes"),
    # zip(strict=True) ValueError: 3 strides for a 2-D conv
    "strides too long": (_model({"strides": [1, 1, 1]}), "invalid attributes"),
    "dilation 0": (_model({"dilations": [0, 1]}), "invalid attributes"),
    # ValueError from Layer: P=0 / N=0 / K=-4 / P=-89 (kernel bigger than the input)
    "zero input dim": (_model(x_shape=(1, 3, 0, 8)), "dims must be positive"),
    "zero batch": (_model(x_shape=(0, 3, 8, 8)), "dims must be positive"),
    "negative weight dim": (_model(w_shape=(-4, 3, 3, 3)), "has a negative dim"),
    "kernel larger than input": (_model(w_shape=(4, 3, 100, 3)), "dims must be positive"),
    # int64 overflow in the cost model (negative energies) or a sieve of 2**40 entries
    "huge dims": (_model(x_shape=(1, 3, 2**40, 8), g_shape=(10, 4 * 2**40 * 8)),
                  "above the largest"),
    # TypeError sorting bytes with str: protobuf returns invalid UTF-8 strings as bytes
    "non-UTF-8 names": (_non_utf8_names(), "not UTF-8"),
    # misleading 'unresolved dims' message: the cycle is the problem
    "cycle": (_graph([helper.make_node("Relu", ["b"], ["a"], name="r"),
                      helper.make_node("MatMul", ["a", "w"], ["b"], name="mm")],
                     [("w", [4, 4])]), "cycle"),
    "self loop": (_graph([helper.make_node("MatMul", ["a", "w"], ["a"], name="mm")],
                         [("w", [4, 4])]), "cycle"),
    "empty graph": (helper.make_model(helper.make_graph([], "g", [], [])), "no nodes"),
    # AttributeError in shape folding: ConstantOfShape's value given as a list of ints
    "ConstantOfShape value a list": (_constant_of_shape_with_a_list(), "MatMul node 'mm'"),
    # Segmentation fault (exit 139) inside ONNX 1.23's C++ shape inference of GatherND with
    # a negative dim: found by a fuzzer over random op graphs; rejected before inference
    "negative dim into onnx inference": (
        _graph([helper.make_node("GatherND", ["x", "x"], ["y"], name="g")], [("x", ["N", -1])]),
        "tensor 'x' has a negative dim \\(-1\\)"),
}


@pytest.mark.parametrize("case", list(REGRESSIONS))
def test_regression_cases_are_one_line_workload_errors(case, tmp_path):
    model, message = REGRESSIONS[case]
    data = model if isinstance(model, bytes) else model.SerializeToString()
    with pytest.raises(WorkloadError, match=message) as info:
        _import(data)
    assert "\n" not in str(info.value)
    path = tmp_path / "bad.onnx"
    path.write_bytes(data)
    result = CliRunner().invoke(main, ["inspect", str(path)])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr.startswith(f"Error: {path}: ")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_size_limits_name_the_layer_and_what_to_do():
    """[2**30, 4] @ [4, 4] has P = 2**30 > MAX_DIM = 2**24 (only 2**34 MACs);
    [2**20, 2**20] @ [2**20, 2**20] has every dim at 2**20 but 2**60 = 1.15e18 MACs
    > MAX_LAYER_COUNT = 2**50."""
    assert MAX_DIM < 2**30 and MAX_LAYER_COUNT < 2**60
    big_dim = _graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                     [("x", [2**30, 4]), ("w", [4, 4])])
    with pytest.raises(WorkloadError, match=r"layer 'mm' has dims P=1073741824 .*--input-shape"):
        layer_table(parse_onnx(big_dim))
    many_macs = _graph([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                       [("x", [2**20, 2**20]), ("w", [2**20, 2**20])])
    with pytest.raises(WorkloadError, match=r"layer 'mm' has 1.15e\+18 MACs"):
        layer_table(parse_onnx(many_macs))


def test_cli_inspect_on_fuzzed_files_is_one_line(tmp_path):
    """A sample of the library cases through the CLI (CliRunner is slower, so fewer)."""
    cases = [SEED[: len(SEED) // 2], SEED[:7], b"\x00" * 64, b"not onnx at all",
             SEED.replace(b"Conv", b"Cxnv"), _non_utf8_names()]
    for i, data in enumerate(cases):
        path = tmp_path / f"case{i}.onnx"
        path.write_bytes(data)
        _cli_is_clean(path)


@pytest.mark.parametrize(("args", "message"), [
    # ValueError 'Value out of range' from protobuf: a dim past int64
    (["--input-shape", "x=1x3x99999999999999999999x8"], "positive int64 values"),
    (["--input-shape", "x=99999999x3x8x8"], "above the largest the mapper supports"),
    (["--input-shape", "nope=1x3x8x8"], "not graph inputs"),
    (["--input-shape", "x=1x3"], "has rank 2, but the model's input 'x' has rank 4"),
    (["--dim", "batch=4"], "no symbolic dim of that name"),
    # issue 14, point 14: 7 channels into a 3-channel conv were accepted, and a larger
    # image makes the flattened features miss the Gemm's weight (4*16*16 = 1024, not 256)
    (["--input-shape", "x=1x7x8x8"], "--input-shape x=1x7x8x8 does not fit the weights: Conv "
     "node 'conv' reads 7 channels from 'x' (1x7x8x8) but its weight 'w' (4x3x3x3) takes 3; "
     "the model declares 'x' as 1x3x8x8"),
    (["--input-shape", "x=1x3x16x16"], "Gemm node 'fc' reads 1024 features from 'f' (1x1024) "
     "but its weight 'g' (10x256) takes 256"),
])
def test_cli_overrides_that_cannot_apply_are_one_line(args, message, tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(SEED)
    result = CliRunner().invoke(main, ["inspect", str(path), *args])
    assert result.exit_code == 2, (result.output, result.exception)
    assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
def test_a_fifo_or_device_is_refused_without_reading_it(tmp_path):
    """Reading a FIFO with no writer would block forever; /dev/null is not a directory."""
    fifo = tmp_path / "model.onnx"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/null"):
        result = CliRunner().invoke(main, ["inspect", str(path)])
        assert result.exit_code == 2 and "not a regular file" in result.stderr, result.output


# -- random op graphs, in a subprocess: a crash inside ONNX's C++ would kill pytest itself ------

_OP_ATTRS = ["axis", "axes", "perm", "strides", "pads", "kernel_shape", "group", "transA",
             "transB", "to", "keepdims", "dilations", "auto_pad", "value", "starts", "ends"]


def fuzz_op_graphs(seed: int, n_graphs: int) -> list[str]:
    """Import ``n_graphs`` random graphs of 1-4 nodes of any op type (MAC ops, vector ops,
    control flow, unknown ops) with attributes of any type, int or float inputs of random
    rank with zero, negative and symbolic dims, and a small int initializer; return the
    non-`CodesignError` exceptions (each as text)."""
    import random

    from codesign.workload.ops import OP_HANDLERS

    rng = random.Random(seed)
    ops = sorted(OP_HANDLERS) + ["Loop", "If", "CustomOp"]

    def attr_value():
        return rng.choice([rng.randint(-3, 5), rng.random(), "s",
                           [rng.randint(-2, 4) for _ in range(rng.randint(1, 4))],
                           [0.5, 1.5], ["a", "b"]])

    failures = []
    for _ in range(n_graphs):
        names, nodes = ["x0", "x1", "c0"], []
        for i in range(rng.randint(1, 4)):
            attrs = {rng.choice(_OP_ATTRS): attr_value() for _ in range(rng.randint(0, 3))}
            inputs = [rng.choice(names) for _ in range(rng.randint(1, 3))]
            try:
                nodes.append(helper.make_node(rng.choice(ops), inputs, [f"t{i}"],
                                              name=f"n{i}", **attrs))
            except (ValueError, TypeError):
                continue
            names.append(f"t{i}")
        if not nodes:
            continue
        inputs = [helper.make_tensor_value_info(
            n, rng.choice([F, TensorProto.INT64]),
            [rng.choice([1, 2, 3, 4, 8, 0, -1, "N", None]) for _ in range(rng.randint(0, 5))])
            for n in ("x0", "x1")]
        const = numpy_helper.from_array(
            np.array([rng.randint(-2, 5) for _ in range(rng.randint(0, 4))], np.int64), "c0")
        graph = helper.make_graph(nodes, "fuzz", inputs,
                                  [helper.make_tensor_value_info(nodes[-1].output[0], F, None)],
                                  [const])
        data = helper.make_model(graph, opset_imports=[helper.make_opsetid(
            "", rng.choice([11, 13, 17]))]).SerializeToString()
        try:
            _import(data)
        except CodesignError:
            pass
        except Exception as exc:  # noqa: BLE001 - collecting what escapes
            failures.append(f"{type(exc).__name__}: {exc} in "
                            f"{[(n.op_type, [a.name for a in n.attribute]) for n in nodes]}")
    return failures


@pytest.mark.slow  # a subprocess per example
def test_random_op_graphs_do_not_crash_the_process():
    """About 12,000 graphs in about 5 s. Checked to fail without either fix it pinned: with
    no negative-dim check the subprocess dies of a segfault (exit -11) in ONNX's GatherND
    inference; with no ConstantOfShape type check it reports the AttributeError."""
    import subprocess
    import sys

    code = (f"import runpy; fuzz = runpy.run_path({__file__!r})['fuzz_op_graphs']; "
            f"import sys; n = {N_EXAMPLES * 27}; "
            "failures = [f for s in (1, 5, 6) for f in fuzz(s, n)]; "
            "print('\\n'.join(failures)); sys.exit(1 if failures else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, (out.returncode, out.stdout[-3000:], out.stderr[-3000:])
