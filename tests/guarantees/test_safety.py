"""Safety (docs/GUARANTEES.md, "Safety"): specs go through YAML safe loaders only, nothing a
user hands in is unpickled, and a custom cost model's module is imported only when named.

The scan reads the package's syntax trees, so comments and docstrings that mention pickle do
not count, and a call written any way (``yaml.load(...)``, ``load(...)`` after ``from yaml
import load``) does.
"""

from __future__ import annotations

import ast
import sys
import textwrap
from pathlib import Path

import pytest

import codesign
from codesign.errors import ConfigError

PACKAGE = Path(codesign.__file__).resolve().parent
#: Modules allowed to import a module by a computed name, and why.
DYNAMIC_IMPORTS = {
    "__init__.py": "lazy public API: names from the fixed _EXPORTS table only",
    "cost/loading.py": "a cost model the user named explicitly ('package.module:Name')",
}
_BANNED_MODULES = {"pickle", "cPickle", "_pickle", "marshal", "shelve", "dill", "cloudpickle",
                   "joblib"}


def _keyword(call: ast.Call, name: str):
    for kw in call.keywords:
        if kw.arg == name:
            return kw.value
    return None


def _is_true(node) -> bool:
    return isinstance(node, ast.Constant) and node.value is True


def unsafe_calls(source: str) -> list[str]:
    """Every unsafe deserialisation, dynamic import or eval in one module's source."""
    tree = ast.parse(source)
    aliases: dict[str, str] = {}  # local name -> "module.attr" for from-imports
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in _BANNED_MODULES:
                    found.append(f"line {node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in _BANNED_MODULES:
                found.append(f"line {node.lineno}: from {node.module} import ...")
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            name = f"{func.value.id}.{func.attr}"
        elif isinstance(func, ast.Name):
            name = aliases.get(func.id, func.id)
        else:
            continue
        where = f"line {node.lineno}: {name}(...)"
        if name in ("yaml.load", "yaml.unsafe_load", "yaml.full_load", "yaml.load_all",
                    "yaml.unsafe_load_all", "yaml.full_load_all"):
            found.append(where + " (use yaml.safe_load)")
        elif name == "torch.load" and not _is_true(_keyword(node, "weights_only")):
            found.append(where + " without weights_only=True")
        elif name in ("np.load", "numpy.load") and _keyword(node, "allow_pickle") is not None \
                and not (isinstance(_keyword(node, "allow_pickle"), ast.Constant)
                         and _keyword(node, "allow_pickle").value is False):
            found.append(where + " with allow_pickle not False")
        elif name in ("eval", "exec", "compile", "__import__"):
            found.append(where)
        elif name in ("importlib.import_module", "import_module",
                      "importlib.import_module.import_module"):
            found.append(where + " (dynamic import)")
        elif name.startswith("subprocess.") and _is_true(_keyword(node, "shell")):
            found.append(where + " with shell=True")
    return found


def test_the_scanner_catches_each_unsafe_form():
    """The scan itself can fail: each line of this snippet after the imports of yaml, torch,
    numpy and subprocess is one finding (8 in all)."""
    bad = textwrap.dedent("""
        import pickle
        import yaml, torch, numpy as np, subprocess
        from yaml import load
        yaml.load(text)
        load(text, Loader=yaml.Loader)
        torch.load(path)
        torch.load(path, weights_only=False)
        np.load(path, allow_pickle=True)
        eval(expr)
        subprocess.run(cmd, shell=True)
    """)
    assert len(unsafe_calls(bad)) == 8, unsafe_calls(bad)
    good = textwrap.dedent("""
        import yaml, torch, numpy as np
        yaml.safe_load(text)
        torch.load(path, weights_only=True)
        np.load(path, allow_pickle=False)
        np.load(path)
    """)
    assert unsafe_calls(good) == []


def test_package_never_loads_unsafely():
    problems = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE).as_posix()
        found = unsafe_calls(path.read_text(encoding="utf-8"))
        if rel in DYNAMIC_IMPORTS:
            found = [f for f in found if "(dynamic import)" not in f]
        if found:
            problems[rel] = found
    assert not problems, problems


def test_checkpoint_arrays_refuse_objects(tmp_path):
    """A checkpoint is JSON + .npz read with allow_pickle=False: an object array (which would
    need pickle) is refused when written, and a doctored .npz holding one is refused on read."""
    import numpy as np

    from codesign.search.checkpoint import read_checkpoint, write_checkpoint

    with pytest.raises(ValueError, match="numeric"):
        write_checkpoint(tmp_path, {"generation": 1}, {"x": np.array([{"a": 1}], dtype=object)})
    write_checkpoint(tmp_path, {"generation": 1}, {"generation": np.array(1)})
    np.savez(tmp_path / "checkpoint.npz", generation=np.array(1),
             evil=np.array([{"a": 1}], dtype=object))  # what an attacker could hand in
    with pytest.raises(ConfigError, match="unreadable"):  # a damaged run folder: exit 2
        read_checkpoint(tmp_path)


_PLUGIN = """
import sys
sys.modules[__name__].imported_marker = True
from codesign.cost.analytical import AnalyticalCostModel as Model
"""


def test_a_cost_model_module_is_imported_only_when_named(tmp_path, monkeypatch):
    from codesign.cost.loading import available_cost_models, load_cost_model

    name = "codesign_guarantee_plugin"
    (tmp_path / f"{name}.py").write_text(_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)
    load_cost_model("analytical")
    available_cost_models()
    assert name not in sys.modules  # on the path, never named: never imported
    model = load_cost_model(f"{name}:Model")
    assert name in sys.modules and type(model).__name__ == "AnalyticalCostModel"


def test_a_misspelled_cost_model_is_a_config_error_not_an_import():
    from codesign.cost.loading import load_cost_model

    with pytest.raises(ConfigError, match="no built-in model or installed plugin"):
        load_cost_model("analyticl")
    with pytest.raises(ConfigError, match="cannot import module"):
        load_cost_model("no_such_module_xyz:Model")


@pytest.mark.parametrize("spec", ["codesign_guarantee_plugin:Model", "this:s", "os:system"])
def test_resume_never_imports_what_run_json_names(spec, tmp_path, monkeypatch):
    """A run folder never names code to run: --resume used to import whatever
    config.cost_model_spec named ("this:s" printed the Zen of Python, "os:system" was
    called). Without --cost-model it is one line asking for it; a module is imported only
    when the user names it again."""
    import json

    import numpy as np
    import onnx
    from click.testing import CliRunner
    from onnx import TensorProto, helper, numpy_helper

    from codesign.cli import main

    name = "codesign_guarantee_plugin"
    (tmp_path / f"{name}.py").write_text(_PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])], "mm",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4, 8])],
        [numpy_helper.from_array(np.zeros((8, 8), np.float32), "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]),
              tmp_path / "mm.onnx")
    out = tmp_path / "run"
    first = CliRunner().invoke(main, [
        "explore", str(tmp_path / "mm.onnx"), "--out", str(out), "--population", "4",
        "--generations", "1", "--mapper-candidates", "2", "--device", "cpu", "--no-plot",
        "--cost-model", f"{name}:Model"])
    assert first.exit_code == 0, first.output
    run = json.loads((out / "run.json").read_text())
    run["config"]["cost_model_spec"] = spec
    (out / "run.json").write_text(json.dumps(run))
    module = spec.partition(":")[0]
    for loaded in (name, "this"):
        monkeypatch.delitem(sys.modules, loaded, raising=False)
    result = CliRunner().invoke(main, ["explore", "--resume", str(out), "--generations", "2",
                                       "--no-plot"])
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and "--cost-model" in result.stderr
    assert "Beautiful is better" not in result.output
    if module != "os":
        assert module not in sys.modules
    again = CliRunner().invoke(main, ["explore", "--resume", str(out), "--generations", "2",
                                      "--no-plot", "--cost-model", f"{name}:Model"])
    assert again.exit_code == 0, again.output
    assert f"cost model '{name}:Model' (given again)" in again.stderr
