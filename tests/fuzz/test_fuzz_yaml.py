"""Hostile YAML specs (accelerator, technology, design space): the parsers raise only
`ConfigError`, listing every problem with a did-you-mean for unknown keys, and the CLI
(`codesign map --arch`, `codesign explore --space`) answers one line and exit code 2
(docs/GUARANTEES.md, "Inputs").
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codesign.arch.accelerator import DATAFLOWS, MAX_SIZES
from codesign.arch.io import (
    MAX_YAML_BYTES,
    MAX_YAML_NODES,
    parse_accelerator,
    parse_technology,
    parse_yaml,
    read_accelerator,
    read_technology,
)
from codesign.arch.space import HW_GENES, DesignSpace
from codesign.cli import main
from codesign.errors import CodesignError, ConfigError

MODEL = Path(__file__).resolve().parents[2] / "models" / "resnet18.onnx"
N_EXAMPLES = int(os.environ.get("CODESIGN_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=N_EXAMPLES, deadline=None, derandomize="CODESIGN_FUZZ_EXAMPLES"
                not in os.environ, suppress_health_check=list(HealthCheck), database=None)

_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                     st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5),
                     st.sampled_from([*DATAFLOWS, "N", "K", "C,R", "45nm"]))
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(st.sampled_from(["min", "max", "rows", "cols", "name"]),
                                  st.text(max_size=4), st.integers()), inner, max_size=3)),
    max_leaves=6)
_ACC_KEYS = ["pe_rows", "pe_cols", "rf_words", "glb_words", "dataflow", "glb_bw", "dram_bw",
             "word_bits", "clock_mhz", "systolic", "technology", "name", "pe_row"]
_SPACE_KEYS = [*HW_GENES, "dram_bw", "word_bits", "clock_mhz", "technology", "systolic",
               "dataflows", "custom_dataflows", "glb_word"]
_VALID_ACC = {"pe_rows": 4, "pe_cols": 4, "rf_words": 16, "glb_words": 1024, "dataflow": "ws"}


def _only_config_errors(parse, data) -> None:
    try:
        parse(data)
    except CodesignError as exc:
        assert isinstance(exc, ConfigError), repr(exc)
        assert "\n" not in str(exc), str(exc)


@FUZZ
@given(st.dictionaries(st.sampled_from(_ACC_KEYS), _VALUES, max_size=8), _VALUES)
def test_accelerator_and_technology_data_raise_only_config_errors(data, anything):
    _only_config_errors(parse_accelerator, data)
    _only_config_errors(parse_accelerator, {**_VALID_ACC, **data})
    _only_config_errors(parse_accelerator, anything)
    _only_config_errors(parse_technology, anything)


@FUZZ
@given(st.dictionaries(st.sampled_from(_SPACE_KEYS), _VALUES, max_size=8), _VALUES)
def test_design_space_data_raises_only_config_errors(data, anything):
    _only_config_errors(DesignSpace.from_dict, data)
    _only_config_errors(DesignSpace.from_dict, anything)


@FUZZ
@given(st.text(max_size=60))
def test_any_text_file_raises_only_config_errors(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("y") / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    _only_config_errors(read_accelerator, path)
    _only_config_errors(DesignSpace.from_yaml, path)


# -- regression cases: each one crashed with a traceback (or was silently accepted) ---------

SPACE_REGRESSIONS = {
    # TypeError: sorted() of a range with int and str keys
    "range with mixed keys": ({"pe_rows": {1: 2, "min": 4}}, "a range needs exactly"),
    "range with mixed extra keys": ({"glb_bw": {"": 1, 164: 2, "min": 1, "max": 4}},
                                    "a range needs exactly"),
    # OverflowError / ValueError: int(inf), int(nan)
    "inf in a list": ({"pe_cols": [4, float("inf")]}, "positive integers"),
    "nan in a list": ({"glb_words": [float("nan")]}, "positive integers"),
    # OverflowError in log2(inf): range to infinity
    "range to inf": ({"rf_words": {"min": 1, "max": float("inf")}}, "0 < min <= max"),
    # accepted before, then int64 overflow (2**70) or a 2**40-entry mapper table at run time
    "huge PE rows": ({"pe_rows": [2**70]}, "at most 1048576"),
    "huge array": ({"pe_rows": [2**12], "pe_cols": [2**12]}, "at most 1048576 PEs"),
    "huge GLB range": ({"glb_words": {"min": 1, "max": 2**60}}, "at most 1099511627776"),
    # accepted before: NaN/inf bandwidths poison every latency
    "nan dram_bw": ({"dram_bw": float("nan")}, "positive finite"),
    "inf clock": ({"clock_mhz": float("inf")}, "positive finite"),
    "inf glb_bw": ({"glb_bw": [float("inf")]}, "positive numbers"),
    # accepted before: any value became bool(value) / str(value)
    "systolic a string": ({"systolic": "no"}, "true or false"),
    "technology a mapping": ({"technology": {"a": 1}}, "preset name or a YAML path"),
    "word_bits huge": ({"word_bits": 2**20}, "1..1024"),
}


@pytest.mark.parametrize("case", list(SPACE_REGRESSIONS))
def test_design_space_regressions(case):
    data, message = SPACE_REGRESSIONS[case]
    with pytest.raises(ConfigError, match=message):
        DesignSpace.from_dict(data)


@pytest.mark.parametrize(("changes", "message"), [
    ({"pe_rows": 2**21}, "pe_rows must be at most 1048576"),
    ({"pe_rows": 2**11, "pe_cols": 2**11}, "at most 1048576 PEs"),
    ({"glb_words": 2**63}, "glb_words must be at most"),
    ({"word_bits": 4096}, "word_bits must be at most 1024"),
])
def test_accelerator_sizes_past_the_limits_are_config_errors(changes, message):
    """Accepted before; then 'Overflow when unpacking long long' or a 34 GB mapper table."""
    assert MAX_SIZES["n_pes"] == 2**20
    with pytest.raises(ConfigError, match=message):
        parse_accelerator({**_VALID_ACC, **changes})


FILE_REGRESSIONS = {
    # RecursionError inside PyYAML's composer
    "deeply nested": ("[" * 2000 + "]" * 2000, "nested too deeply"),
    # UnicodeDecodeError (design space only; accelerators were already fine)
    "binary": (b"\xff\xfe\x00garbage", "not a text file"),
    # multi-line message from str(YAMLError) (design space only)
    "python tag": ("!!python/object/apply:os.system ['echo hi']\n", "not valid YAML at line 1"),
    "bad indentation": ("a: 1\n b: 2\n", "not valid YAML at line 2"),
}


@pytest.mark.parametrize("case", list(FILE_REGRESSIONS))
@pytest.mark.parametrize("read", [read_accelerator, DesignSpace.from_yaml],
                         ids=["accelerator", "space"])
def test_bad_files_are_one_line_config_errors(case, read, tmp_path):
    text, message = FILE_REGRESSIONS[case]
    path = tmp_path / "spec.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        read(path)
    assert "\n" not in str(info.value)


def test_unknown_keys_get_a_did_you_mean():
    with pytest.raises(ConfigError, match=r"unknown key 'pe_row'; did you mean 'pe_rows'\?"):
        parse_accelerator({**_VALID_ACC, "pe_row": 8})
    with pytest.raises(ConfigError, match=r"unknown key 'glb_word'; did you mean 'glb_words'\?"):
        DesignSpace.from_dict({"glb_word": [1024]})


def test_every_problem_of_a_file_is_listed_at_once():
    """Missing keys, a wrong type and a negative size: 2 + 1 + 1 = 4 problems, one message."""
    with pytest.raises(ConfigError, match="accelerator has 4 problems") as info:
        parse_accelerator({"pe_rows": "16", "rf_words": -1, "dataflow": "ws"})
    message = str(info.value)
    for part in ("missing key 'pe_cols'", "missing key 'glb_words'",
                 "'pe_rows' must be an integer, got str '16'",
                 "'rf_words' must be a positive integer, got -1"):
        assert part in message


# -- the CLI: one line, exit 2 ---------------------------------------------------------------

def _cli(args) -> None:
    result = CliRunner().invoke(main, [str(a) for a in args])
    assert result.exit_code == 2, (result.output, result.exception)
    assert "Traceback" not in result.output
    assert result.stderr.startswith("Error: ") and result.stderr.count("\n") == 1, result.stderr


@pytest.mark.parametrize("data", [
    {**_VALID_ACC, "pe_row": 8}, {"pe_rows": -4}, {**_VALID_ACC, "glb_words": "lots"},
    {**_VALID_ACC, "dataflow": {"rows": ["X"], "cols": 3}}, [1, 2], "ws",
    {**_VALID_ACC, "technology": {"dram_pj_64b": -1}},
])
def test_cli_map_with_a_bad_arch_file(data, tmp_path):
    path = tmp_path / "arch.yaml"
    path.write_text(yaml.safe_dump(data))
    _cli(["map", MODEL, "--arch", path])


@pytest.mark.parametrize("text", [
    yaml.safe_dump({"pe_rows": {"min": 64, "max": 4}}), yaml.safe_dump({"dataflow": ["wz"]}),
    yaml.safe_dump({"pe_cols": [2**40]}), "pe_rows: [4, .nan]\n", "[" * 5000,
    "dram_bw: .inf\n", "key: [unclosed\n",
])
def test_cli_explore_with_a_bad_space_file(text, tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    _cli(["explore", MODEL, "--space", path, "--out", tmp_path / "run"])
    assert not (tmp_path / "run").exists()


@settings(max_examples=min(N_EXAMPLES, 30), deadline=None, database=None,
          derandomize="CODESIGN_FUZZ_EXAMPLES" not in os.environ,
          suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(_SPACE_KEYS), _VALUES, min_size=1, max_size=4))
def test_cli_explore_rejects_fuzzed_spaces_in_one_line(tmp_path_factory, data):
    """Fuzzed spaces the parser rejects never reach a run; the CLI says so in one line."""
    try:
        DesignSpace.from_dict(data)
    except ConfigError:
        pass
    else:
        return  # a valid space would start a real run; the library test covers it
    path = tmp_path_factory.mktemp("s") / "space.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    if not isinstance(yaml.safe_load(path.read_text()), dict):
        return
    _cli(["explore", MODEL, "--space", path, "--out", path.parent / "run"])


# -- the classes of hostile YAML files (issue 14, points 4, 5, 17) ----------------------------
# Every reader of a YAML file the CLI can be handed: an accelerator (--arch), a design space
# (--space) and a technology table (named from either).
READERS = {"accelerator": read_accelerator, "space": DesignSpace.from_yaml,
           "technology": read_technology}


def _bomb(levels: int, width: int) -> str:
    """A "billion laughs" file: ``levels`` anchors, each a list of ``width`` aliases of the
    one before; it expands to about ``width ** levels`` values."""
    lines = [f"a0: &a0 [{', '.join(['lol'] * width)}]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


def _in_thread(fn, timeout_s: float = 20.0):
    """``fn()``'s exception (or None), failing the test instead of hanging it forever."""
    outcome: list = []

    def target():
        try:
            fn()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome.append(exc)
        else:
            outcome.append(None)

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout_s)
    assert not worker.is_alive(), f"{fn} still running after {timeout_s} s (it hangs)"
    return outcome[0]


HOSTILE_FILES = {
    # each: (text written to spec.yaml, what the message says); before, each was accepted
    "empty": ("", "is empty"),
    "comments only": ("# a design space\n\n   # nothing here\n", "is empty"),
    "null": ("~\n", "is empty"),
    "duplicate key": ("pe_rows: 4\npe_cols: 8\npe_rows: 16\n",
                      "duplicate key 'pe_rows' at line 3 (first at line 1)"),
    "duplicate nested key": ("pe_rows: {min: 4, max: 8, min: 2}\n",
                             "duplicate key 'min' at line 1 (first at line 1)"),
    "duplicate equal keys": ("1: a\n0x1: b\n", "duplicate key 1 at line 2"),
    # 85 s, 13.9 GB and a 2.1 GB error line before
    "alias bomb": (_bomb(9, 9), "its aliases expand to 490329064 values, more than the 10000"),
    "alias bomb under a key": (_bomb(9, 9) + "pe_rows: [*a8, *a8]\n", "aliases expand to"),
    "recursive alias": ("a: &a [1, *a]\n", "recursive alias"),
    "too many values": ("[" + ", ".join(["1"] * 10_500) + "]\n", "holds 10501 values"),
    # ValueError traceback: int() past Python's 4300-digit limit
    "5000-digit number": ("pe_rows: " + "1" * 5000 + "\n", "far fewer digits"),
    # a 2**20000 key quoted whole (and repr() raises past 4300 digits)
    "huge hex key": ("? 0x" + "f" * 5000 + "\n: 1\n", "unknown key <int of 20000 bits>"),
}


@pytest.mark.parametrize("case", list(HOSTILE_FILES))
@pytest.mark.parametrize("reader", list(READERS))
def test_hostile_yaml_files_are_one_short_line(case, reader, tmp_path):
    text, message = HOSTILE_FILES[case]
    path = tmp_path / "spec.yaml"
    path.write_text(text)
    start = time.perf_counter()
    with pytest.raises(ConfigError, match=re.escape(message)) as info:
        READERS[reader](path)
    assert time.perf_counter() - start < 5.0  # the bomb took 85 s
    text = str(info.value)
    assert text.startswith(str(path)) and "\n" not in text and len(text) < 1000, text


def test_duplicate_keys_are_all_listed_and_merge_keys_are_not_duplicates(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text("pe_rows: [4]\nrf_words: [8]\npe_rows: [8]\nrf_words: [16]\n")
    with pytest.raises(ConfigError) as info:
        DesignSpace.from_yaml(path)
    assert "'pe_rows' at line 3 (first at line 1)" in str(info.value)
    assert "'rf_words' at line 4 (first at line 2)" in str(info.value)
    # a merge key (<<) is there to be overridden: not a duplicate
    path.write_text("base: &b {min: 4, max: 8}\n")
    assert parse_yaml("base: &b {min: 4, max: 8}\npe_rows: {<<: *b, max: 16}\n") == {
        "base": {"min": 4, "max": 8}, "pe_rows": {"min": 4, "max": 16}}


def test_a_few_aliases_are_fine():
    """Anchors for a value used twice stay allowed: only expansions past the bound fail."""
    assert parse_yaml("a: &x [4, 8]\npe_rows: *x\npe_cols: *x\n")["pe_cols"] == [4, 8]
    text = _bomb(4, 9)  # 9 + 81 + 729 + 6561 values, within MAX_YAML_NODES
    assert len(parse_yaml(text)["a3"]) == 9


@FUZZ
@given(st.integers(1, 12), st.integers(1, 12))
def test_alias_expansion_is_bounded_whatever_the_shape(levels, width):
    """Any anchors x items bomb is parsed or refused in milliseconds, never expanded."""
    text = _bomb(levels, width)
    sizes = [1 + width]  # a list node and its items, every alias expanded
    for _ in range(1, levels):
        sizes.append(1 + width * sizes[-1])
    expanded = 1 + sum(1 + size for size in sizes)  # the top mapping, its keys and values
    start = time.perf_counter()
    try:
        parse_yaml(text, "bomb.yaml")
    except ConfigError as exc:
        assert "more than the 10000" in str(exc) and len(str(exc)) < 300
        assert expanded > MAX_YAML_NODES
    else:
        assert expanded <= MAX_YAML_NODES
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("reader", list(READERS))
def test_fifo_is_refused_instead_of_hanging(reader, tmp_path):
    """Before: `--space FIFO` and `--arch FIFO` waited forever for a writer."""
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    exc = _in_thread(lambda: READERS[reader](fifo))
    assert isinstance(exc, ConfigError) and "not a regular file" in str(exc), exc


def test_devices_are_refused_without_reading_them():
    """Before: /dev/zero and /dev/urandom grew to 24 GB. Run in a child process under a 2 GB
    address-space cap, so that a regression fails the test instead of the machine."""
    script = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
        "from codesign.arch.io import read_accelerator, read_technology\n"
        "from codesign.arch.space import DesignSpace\n"
        "from codesign.errors import ConfigError\n"
        "for dev in ('/dev/zero', '/dev/urandom'):\n"
        "    for read in (read_accelerator, read_technology, DesignSpace.from_yaml):\n"
        "        try:\n"
        "            read(dev)\n"
        "        except ConfigError as exc:\n"
        "            print(exc)\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert len(lines) == 6 and all("not a regular file" in line for line in lines), lines


def test_oversized_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "space.yaml"
    with open(path, "wb") as file:  # sparse: 2 MiB of size, no disk
        file.truncate(2 * MAX_YAML_BYTES)
    for read in READERS.values():
        with pytest.raises(ConfigError, match=f"larger than {MAX_YAML_BYTES} bytes"):
            read(path)


def test_a_technology_file_named_by_an_arch_file_is_read_strictly(tmp_path):
    """The technology YAML an accelerator names goes through the same loader."""
    (tmp_path / "tech.yaml").write_text("dram_pj_64b: 640\ndram_pj_64b: 700\n")
    arch = tmp_path / "arch.yaml"
    arch.write_text(yaml.safe_dump({**_VALID_ACC, "technology": "tech.yaml"}))
    with pytest.raises(ConfigError, match="duplicate key 'dram_pj_64b' at line 2"):
        read_accelerator(arch)
    (tmp_path / "tech.yaml").write_text("# to do\n")
    with pytest.raises(ConfigError, match="tech.yaml: is empty"):
        read_accelerator(arch)


def test_messages_quote_no_whole_value_and_list_a_bounded_number_of_problems():
    """Before: the bomb's value went whole into the message (2.1 GB on one line)."""
    long = "x" * 100_000
    with pytest.raises(ConfigError) as info:
        DesignSpace.from_dict({"pe_rows": [long], "dataflow": [long], long: 1})
    assert len(str(info.value)) < 1000 and "…" in str(info.value)
    with pytest.raises(ConfigError) as info:
        DesignSpace.from_dict({f"key{i}": 1 for i in range(5000)})
    assert "and 4980 more problems" in str(info.value) and len(str(info.value)) < 3000
    with pytest.raises(ConfigError) as info:
        parse_accelerator({**_VALID_ACC, "dataflow": long, "pe_rows": [[long] * 1000] * 1000})
    assert len(str(info.value)) < 1000


@pytest.mark.parametrize("case", ["empty", "duplicate key", "alias bomb", "fifo", "device"])
@pytest.mark.parametrize("option", ["--space", "--arch"])
def test_cli_refuses_hostile_yaml_in_one_line(case, option, tmp_path):
    path = tmp_path / "spec.yaml"
    if case == "fifo":
        os.mkfifo(path)
    elif case == "device":
        path = Path("/dev/zero")
    else:
        path.write_text(HOSTILE_FILES[case][0])
    if option == "--space":
        args = ["explore", MODEL, "--space", path, "--out", tmp_path / "run"]
    else:
        args = ["map", MODEL, "--arch", path]
    assert _in_thread(lambda: _cli(args)) is None
    assert not (tmp_path / "run").exists()


def test_the_cli_cuts_any_error_line_to_a_readable_length():
    """The last guard behind `short_repr`: whatever a message holds, one line of at most
    `MAX_ERROR_CHARS`, keeping its start (what, where) and its end (what to do)."""
    from codesign.cli import MAX_ERROR_CHARS, _bounded

    message = "spec.yaml: bad value " + "x" * 10**7 + "\nmore; fix the file"
    line = _bounded(message)
    assert len(line) <= MAX_ERROR_CHARS and "\n" not in line
    assert line.startswith("spec.yaml: bad value") and line.endswith("more; fix the file")
    assert _bounded("short") == "short"
