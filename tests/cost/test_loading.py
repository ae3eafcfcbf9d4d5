"""`load_cost_model` / `as_cost_model`: built-in name, ``module:Name`` specs, entry points."""

import os
import sys
import textwrap
from importlib import metadata

import pytest

from codesign.cost import loading
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.function import FunctionCostModel
from codesign.cost.loading import ENTRY_POINT_GROUP, as_cost_model, load_cost_model
from codesign.errors import ConfigError


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """A throwaway module ``cs_test_plugin`` on sys.path with every kind of target."""
    (tmp_path / "cs_test_plugin.py").write_text(textwrap.dedent("""
        from codesign.cost.analytical import AnalyticalCostModel

        class Cheaper(AnalyticalCostModel):
            pass

        class NeedsArgs(AnalyticalCostModel):
            def __init__(self, table):
                super().__init__(table)

        class NotAModel:
            pass

        def factory():
            return Cheaper()

        def per_design(accelerator, layers, mappings):
            return {"latency_cycles": 1.0, "energy_pj": 1.0, "area_mm2": 1.0, "peak": 1.0}
        per_design.extra_objectives = ("peak",)

        INSTANCE = Cheaper()
        NUMBER = 3

        class Holder:
            Inner = Cheaper
    """))
    (tmp_path / "cs_broken_plugin.py").write_text("raise RuntimeError('boom at import')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "cs_test_plugin"
    for name in ("cs_test_plugin", "cs_broken_plugin"):
        sys.modules.pop(name, None)


def test_analytical_is_the_default():
    assert type(load_cost_model()) is AnalyticalCostModel
    assert type(load_cost_model(" analytical ")) is AnalyticalCostModel


@pytest.mark.parametrize(("attr", "kind"), [
    ("Cheaper", "Cheaper"),            # a class: instantiated with no arguments
    ("factory", "Cheaper"),            # a factory with no parameters: called
    ("INSTANCE", "Cheaper"),           # an instance: used as is
    ("Holder.Inner", "Cheaper"),       # a dotted path after the colon
    ("per_design", "FunctionCostModel"),  # a per-design function: wrapped
])
def test_module_specs(plugin_module, attr, kind):
    model = load_cost_model(f"{plugin_module}:{attr}")
    assert type(model).__name__ == kind


def test_wrapped_function_keeps_its_declared_objectives(plugin_module):
    model = load_cost_model(f"{plugin_module}:per_design")
    assert isinstance(model, FunctionCostModel) and model.extra_objectives == ("peak",)


@pytest.mark.parametrize(("spec", "message"), [
    ("no_such_pkg_xyz:Model", "cannot import module 'no_such_pkg_xyz'"),
    ("cs_test_plugin:Missing", "has no attribute 'Missing'"),
    ("cs_test_plugin:NotAModel", "NotAModel is not a cost model.*evaluate"),
    ("cs_test_plugin:NUMBER", "int is not a cost model"),
    ("cs_test_plugin:NeedsArgs", "cannot instantiate NeedsArgs without arguments"),
    ("cs_broken_plugin:X", "importing 'cs_broken_plugin' failed: RuntimeError: boom"),
    ("cs_test_plugin:", "expected 'package.module:Name'"),
    ("", "empty spec"),
])
def test_bad_specs_say_what_is_wrong(plugin_module, spec, message):
    with pytest.raises(ConfigError, match=message):
        load_cost_model(spec)


def test_module_is_imported_only_when_named(plugin_module):
    load_cost_model("analytical")
    assert plugin_module not in sys.modules


class _FakeEntryPoint:
    def __init__(self, name, value, target=None, error=None):
        self.name, self.value = name, value
        self._target, self._error = target, error

    def load(self):
        if self._error:
            raise self._error
        return self._target


@pytest.fixture
def entry_points(monkeypatch):
    """Replace the installed entry points with a fake ``codesign.cost_models`` group."""
    class Mine(AnalyticalCostModel):
        pass

    eps = [_FakeEntryPoint("mine", "pkg.mod:Mine", Mine),
           _FakeEntryPoint("broken", "pkg.gone:Model", error=ImportError("no pkg.gone"))]
    groups = []

    def fake(**kwargs):
        groups.append(kwargs.get("group"))
        return eps if kwargs.get("group") == ENTRY_POINT_GROUP else []

    monkeypatch.setattr(metadata, "entry_points", fake)
    return Mine, groups


def test_entry_point_discovery(entry_points):
    mine, groups = entry_points
    assert type(load_cost_model("mine")) is mine
    assert groups and set(groups) == {ENTRY_POINT_GROUP}
    assert loading.available_cost_models() == ("analytical", "broken", "mine")


def test_unknown_plugin_lists_the_known_ones(entry_points):
    with pytest.raises(ConfigError, match=r"'nope'.*known: analytical, broken, mine.*"
                                          r"package\.module:Name"):
        load_cost_model("nope")


def test_plugin_that_fails_to_load(entry_points):
    with pytest.raises(ConfigError, match="loading entry point 'pkg.gone:Model' failed: "
                                          "ImportError: no pkg.gone"):
        load_cost_model("broken")


def test_as_cost_model_passes_models_through_and_rejects_others():
    model = AnalyticalCostModel()
    assert as_cost_model(model) is model
    assert type(as_cost_model("analytical")) is AnalyticalCostModel   # specs are loaded
    with pytest.raises(ConfigError, match="float is not a cost model"):
        as_cost_model(1.5)


def test_resume_reloads_an_installed_plugin_by_name_and_says_so(entry_points, tmp_path):
    import codesign

    mine, _ = entry_points
    table = codesign.LayerTable.from_layers([codesign.Layer.gemm(M=8, K=16, N=16)])
    tiny = dict(population=4, mapper_candidates=2, mapper_steps=1, device="cpu", plot=False)
    codesign.explore(table, cost_model="mine", out=tmp_path / "run", generations=1, **tiny)
    said = []
    again = codesign.explore(table, resume=tmp_path / "run", generations=2, plot=False,
                             notify=said.append)
    assert again.run["generations_done"] == 2 and again.run["config"]["cost_model_spec"] == "mine"
    assert said == [f"--resume {tmp_path / 'run'}: cost model 'mine' (installed plugin, entry "
                    "point 'codesign.cost_models')"]


@pytest.mark.parametrize("target", [
    os.system,  # one parameter: it was wrapped, then failed mid-run with a TypeError
    type("TwoArgs", (), {"evaluate": lambda self, hardware, workload: None})(),
    lambda accelerator, layers: {},
])
def test_what_is_not_a_cost_model_is_refused_before_use(target):
    with pytest.raises(ConfigError, match="is not a cost model"):
        loading.as_cost_model(target, where="cost model 'x'")
