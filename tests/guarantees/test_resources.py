"""Resources (docs/GUARANTEES.md, "Resources"): big populations are evaluated in chunks with
the same numbers, NaN/inf from a cost model never reaches the front, and CUDA asked for but
absent is a clear one-line error."""

from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from codesign.api import explore
from codesign.arch.space import DesignSpace
from codesign.cli import main
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.chunked import ENV_MAX_BATCH_BYTES, JOINT_BYTES_PER_DESIGN_LAYER
from codesign.mapping.batch import WorkloadTensors
from codesign.search.problem import BatchEvaluator, MapperEffort
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3),
                                Layer.gemm(M=4, K=64, N=32)])
SPACE = DesignSpace(pe_rows=(4, 8, 16), pe_cols=(4, 8, 16), dataflows=("ws", "os", "flexible"))


def _evaluator(mode="joint", cost_model=None, objectives=("latency", "energy", "area"),
               **kwargs):
    return BatchEvaluator(SPACE, WorkloadTensors.from_table(TABLE),
                          cost_model or AnalyticalCostModel(), objectives, mode=mode,
                          effort=MapperEffort(2, 1), seed=5, **kwargs)


def _same(a, b) -> None:
    for f in dataclasses.fields(a):
        left, right = getattr(a, f.name), getattr(b, f.name)
        if isinstance(left, np.ndarray):
            np.testing.assert_array_equal(left, right, err_msg=f.name)
        else:
            assert left == right, f.name


# -- chunking ---------------------------------------------------------------------------------

def test_joint_population_in_many_chunks_gives_identical_results(monkeypatch):
    """A budget of 3 designs (2 layers x 8 kB each) splits 20 designs into 7 chunks."""
    x = np.random.default_rng(0).random((20, _evaluator().n_var))
    whole = _evaluator().evaluate(x)
    monkeypatch.setenv(ENV_MAX_BATCH_BYTES, str(3 * 2 * JOINT_BYTES_PER_DESIGN_LAYER))
    evaluator = _evaluator()
    calls = []
    inner = evaluator.cost_model.evaluate

    def counting(hardware, workload, mappings):
        calls.append(hardware.n_designs)
        return inner(hardware, workload, mappings)

    monkeypatch.setattr(evaluator.cost_model, "evaluate", counting)
    _same(whole, evaluator.evaluate(x))
    assert calls == [3, 3, 3, 3, 3, 3, 2]


def test_nested_population_that_fits_is_one_mapper_call_as_before():
    """No chunking below the budget: same numbers as a second, identical evaluator."""
    x = np.random.default_rng(1).random((6, SPACE.n_genes))
    _same(_evaluator("nested").evaluate(x), _evaluator("nested").evaluate(x))


def test_nested_population_split_by_memory_warns_and_is_reproducible(monkeypatch):
    monkeypatch.setenv(ENV_MAX_BATCH_BYTES, "1")  # one design per chunk
    x = np.random.default_rng(2).random((4, SPACE.n_genes))
    with pytest.warns(UserWarning, match="4 designs .* 4 chunks"):
        first = _evaluator("nested").evaluate(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        second = _evaluator("nested").evaluate(x)
    _same(first, second)
    assert np.isfinite(first.objectives).all()


# -- NaN and inf ------------------------------------------------------------------------------

class Poisoned:
    """The analytical model, but designs with 8 PE rows get NaN energy and designs with 16
    PE cols an infinite latency: a deterministic property of the design, as a broken
    simulator would give."""

    def __init__(self) -> None:
        self.inner = AnalyticalCostModel()
        self.technology = self.inner.technology

    def evaluate(self, hardware, workload, mappings):
        r = self.inner.evaluate(hardware, workload, mappings)
        nan = torch.full_like(r.total_energy_pj, float("nan"))
        inf = torch.full_like(r.latency_cycles, float("inf"))
        return dataclasses.replace(
            r, total_energy_pj=torch.where(hardware.pe_rows == 8, nan, r.total_energy_pj),
            latency_cycles=torch.where(hardware.pe_cols == 16, inf, r.latency_cycles),
            area_mm2=torch.where(hardware.pe_rows == 8, nan, r.area_mm2))


def test_non_finite_costs_make_a_design_infeasible_with_a_warning():
    evaluator = _evaluator(cost_model=Poisoned(), max_area_mm2=1e6, max_power_w=1e6)
    x = np.random.default_rng(3).random((30, evaluator.n_var))
    with pytest.warns(UserWarning, match=r"not finite \(NaN, inf\) or not positive for \d+ of 30"):
        out = evaluator.evaluate(x)
    rows = SPACE.indices(x[:, :SPACE.n_genes])
    poisoned = (np.asarray(SPACE.pe_rows)[rows[:, 0]] == 8) | \
        (np.asarray(SPACE.pe_cols)[rows[:, 1]] == 16)
    assert poisoned.any() and (~poisoned).any()
    assert not out.feasible[poisoned].any()
    assert (out.objectives[poisoned] == 1e30).all()
    assert np.isfinite(out.constraints).all()  # pymoo never sees a NaN constraint
    assert np.isfinite(np.log10(out.objectives)).all()


def test_a_poisoned_model_never_reaches_the_front(tmp_path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = explore(TABLE, SPACE, cost_model=Poisoned(), strategy="joint", population=12,
                         generations=3, seed=1, out=tmp_path / "run", plot=False,
                         max_area_mm2=1e6)
    assert any("not finite" in str(w.message) for w in caught)
    assert result.pareto
    for design in result.pareto:
        assert design.accelerator.pe_rows != 8 and design.accelerator.pe_cols != 16
        for key in ("latency_s", "energy_j", "area_mm2"):
            assert math.isfinite(design.metrics[key]) and design.metrics[key] > 0


class TurnsBad:
    """Fine during the search, NaN when the front is costed again at the end (a simulator
    that starts failing): the final front drops those designs instead of writing NaN."""

    def __init__(self) -> None:
        self.inner = AnalyticalCostModel()
        self.technology = self.inner.technology
        self.bad = False

    def evaluate(self, hardware, workload, mappings):
        r = self.inner.evaluate(hardware, workload, mappings)
        if not self.bad:
            return r
        return dataclasses.replace(r, total_energy_pj=torch.full_like(r.total_energy_pj,
                                                                       float("nan")))


def test_a_front_design_that_turns_non_finite_when_recosted_is_dropped(tmp_path):
    model = TurnsBad()

    def progress(stats):
        model.bad = stats.generation >= 2

    with pytest.warns(UserWarning, match="not finite"):
        result = explore(TABLE, SPACE, cost_model=model, strategy="joint", population=8,
                         generations=2, seed=2, out=tmp_path / "run", plot=False,
                         progress=progress)
    assert result.pareto == []
    assert (tmp_path / "run" / "pareto.csv").read_text().count("\n") == 1  # header only


# -- CUDA -------------------------------------------------------------------------------------

@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available here")
@pytest.mark.parametrize("command", ["explore", "map"])
def test_cuda_asked_for_but_absent_is_one_line(command, tmp_path):
    from pathlib import Path

    model = Path(__file__).resolve().parents[2] / "models" / "resnet18.onnx"
    out = tmp_path / "run"
    extra = ["--arch", "eyeriss"] if command == "map" else ["--generations", "1"]
    result = CliRunner().invoke(main, [command, str(model), "--device", "cuda",
                                       "--out", str(out), *extra])
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr == ("Error: --device cuda: CUDA is not available on this machine; "
                             "use --device cpu\n")
    assert not out.exists()  # nothing left behind


def test_running_out_of_memory_anyway_halves_the_chunks(monkeypatch):
    """When the memory estimate is too low (a custom model, a GPU shared with others), the
    allocator's failure is caught and the population is evaluated again in halves."""
    x = np.random.default_rng(4).random((8, _evaluator().n_var))
    whole = _evaluator().evaluate(x)
    evaluator = _evaluator()
    inner = evaluator.cost_model.evaluate
    sizes = []

    def small_memory(hardware, workload, mappings):
        sizes.append(hardware.n_designs)
        if hardware.n_designs > 2:
            raise RuntimeError("[enforce fail at alloc_cpu.cpp:127] DefaultCPUAllocator: "
                               "can't allocate memory: you tried to allocate 34359738888 bytes")
        return inner(hardware, workload, mappings)

    monkeypatch.setattr(evaluator.cost_model, "evaluate", small_memory)
    with pytest.warns(UserWarning, match="out of memory on cpu: evaluating in chunks of 2"):
        _same(whole, evaluator.evaluate(x))
    assert sizes == [8, 4, 2, 2, 2, 2]  # 8 fails, then 4 fails, then 2 x 4

    def no_memory(hardware, workload, mappings):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(evaluator.cost_model, "evaluate", no_memory)
    from codesign.errors import RunError

    with pytest.raises(RunError, match="out of memory costing one design of 2 layers"), \
            warnings.catch_warnings():
        warnings.simplefilter("ignore")
        evaluator.evaluate(x)
    monkeypatch.setattr(evaluator.cost_model, "evaluate", lambda *a: 1 / 0)
    with pytest.raises(ZeroDivisionError):  # anything else is a bug: not retried
        evaluator.evaluate(x)
