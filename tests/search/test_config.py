"""Tests for codesign/search/config.py: ExploreConfig's checks, run.json form and resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from codesign.arch.space import DesignSpace
from codesign.errors import ConfigError
from codesign.search import config as cfg
from codesign.search.config import SETTINGS, ExploreConfig

RUN_JSON_V0 = Path(__file__).resolve().parents[1] / "data" / "run_json_v0" / "run.json"


def test_the_names_restated_here_are_the_search_and_device_tables():
    # config.py imports no torch, so it restates these; they must not drift
    from codesign.device import DEVICE_NAMES
    from codesign.search import strategies

    assert tuple(strategies.STRATEGIES) == cfg.STRATEGY_NAMES
    assert cfg.STRATEGY_ALIASES == strategies.ALIASES
    assert cfg.DEFAULT_STRATEGY == strategies.DEFAULT_STRATEGY
    assert cfg.ALGORITHMS == strategies.ALGORITHMS
    assert cfg.DEVICE_NAMES == DEVICE_NAMES


def test_every_problem_is_reported_at_once_on_one_line():
    with pytest.raises(ConfigError) as info:
        ExploreConfig(population=1, mapper_candidates=1, mapper_steps=-1, seed=-5,
                      strategy="nestd", time_limit_s=float("nan"), max_area_mm2=0,
                      objectives="", constraints={"power": -1}, dims={"batch": 0})
    message = str(info.value)
    assert "\n" not in message and message.startswith("explore: ")
    for part in ("population must be an integer >= 2, got 1",
                 "mapper candidates must be an integer >= 2, got 1",
                 "mapper steps must be an integer >= 0, got -1",
                 "seed must be an integer >= 0, got -5",
                 "unknown strategy 'nestd'; did you mean 'nested'? (choose one of joint,",
                 "time limit must be a finite number of seconds > 0, got nan",
                 "max area must be a finite number of mm2 > 0, got 0",
                 "objectives must be one or more distinct names, got ()",
                 "constraints: 'power': limit must be a finite number > 0, got -1.0",
                 "dims must map names to a positive integer, got {'batch': 0}"):
        assert part in message, part


@pytest.mark.parametrize(("changes", "problem"), [
    ({"population": True}, "population must be an integer >= 2, got True"),
    ({"population": 2.5}, "population must be an integer >= 2, got 2.5"),
    ({"time_limit_s": float("inf")}, "time limit must be a finite number of seconds > 0"),
    ({"objectives": ("edp", "edp")}, "objectives must be one or more distinct names"),
    ({"refine": "grad"}, "unknown refine method 'grad'; did you mean 'gradient'?"),
    ({"fusion": "yes"}, "fusion must be true or false, got 'yes'"),
    ({"input_shapes": {"x": (1, 0)}}, "input shapes must map names to a shape of positive"),
    ({"space": {"pe_rows": [4]}}, "design space must be a DesignSpace"),
    ({"device": 3}, "unknown device 3"),
])
def test_one_bad_setting_names_itself(changes, problem):
    with pytest.raises(ConfigError, match="^explore: ") as info:
        ExploreConfig(**changes)
    assert problem in str(info.value)


def test_the_algorithm_is_checked_against_the_search_registry():
    """The CLI offers the built-in searches; code may register more, so the name is
    checked against the registry when the run starts (`validate`)."""
    from codesign.search.searches import SEARCHES

    config = ExploreConfig(algorithm="smsemo")
    with pytest.raises(ConfigError, match=r"^explore: unknown algorithm 'smsemo'; did you "
                                          r"mean 'smsemoa'\?"):
        config.validate(("latency", "energy", "area"))
    SEARCHES["smsemo"] = SEARCHES["smsemoa"]
    try:
        config.validate(("latency", "energy", "area"))
    finally:
        del SEARCHES["smsemo"]


def test_loose_forms_are_normalised():
    config = ExploreConfig(objectives=" edp, area ,", constraints=[("power", 2)],
                           input_shapes=[("x", [1, 3, 8, 8])], dims={}, space=None)
    assert config.objectives == ("edp", "area")
    assert config.constraints == {"power": 2.0} and isinstance(config.constraints["power"],
                                                               float)
    assert config.input_shapes == {"x": (1, 3, 8, 8)} and config.dims is None
    assert config.space == DesignSpace()


def test_generations_default_only_when_no_budget_is_given():
    assert ExploreConfig().generations == cfg.DEFAULT_GENERATIONS
    assert ExploreConfig(max_evals=500).generations is None
    assert ExploreConfig(time_limit_s=2).generations is None
    assert ExploreConfig(generations=3).budget().generations == 3


def test_the_device_is_left_to_resolve_device():
    # the API also takes cuda:1; resolve_device says what is wrong with a bad name
    assert ExploreConfig(device="cuda:1").device == "cuda:1"


def test_validate_checks_names_against_the_cost_model():
    config = ExploreConfig(objectives="latency,n_pes", constraints={"n_pe": 4})
    config.validate(("latency", "n_pes", "n_pe"))
    with pytest.raises(ConfigError) as info:
        config.validate(("latency", "energy", "n_pe"))
    message = str(info.value)
    assert "unknown: n_pes" in message and "did you mean 'n_pe'?" in message
    assert "\n" not in message
    with pytest.raises(ConfigError, match="unknown name 'n_pe'"):
        config.validate(("latency", "n_pes"))


def _full_config() -> ExploreConfig:
    """Every setting away from its default."""
    return ExploreConfig(
        objectives=("edp", "area"), strategy="joint", algorithm="nsga3", population=6,
        generations=None, max_evals=300, time_limit_s=9.5, max_area_mm2=3.0,
        max_power_w=2.0, constraints={"latency": 1e-3}, cost_model_spec="analytical",
        mapper_candidates=2, mapper_steps=0, seed=7, refine="gradient", device="cpu",
        space=DesignSpace(pe_rows=(4, 8), dataflows=("ws",), clock_mhz=500.0),
        model="/models/m.onnx", input_shapes={"x": (1, 3, 8, 8)}, dims={"batch": 2},
        fusion=False)


def test_run_json_round_trips():
    config = _full_config()
    data = json.loads(json.dumps(config.to_json()))  # plain JSON data
    assert data["workload"] == {"path": "/models/m.onnx", "input_shapes": {"x": [1, 3, 8, 8]},
                                "dims": {"batch": 2}, "fusion": False}
    assert ExploreConfig.from_json(data) == config
    assert ExploreConfig.from_json(ExploreConfig().to_json()) == ExploreConfig()


def test_a_layer_table_run_records_no_workload_settings():
    data = ExploreConfig(input_shapes={"x": (1, 2)}, fusion=False).to_json()
    assert data["workload"] == {"path": None, "input_shapes": None, "dims": None,
                                "fusion": None}
    assert ExploreConfig.from_json(data).fusion is True


def test_run_json_of_the_code_before_explore_config_is_read():
    """tests/data/run_json_v0 was written by explore at commit b0088e2 (its README)."""
    data = json.loads(RUN_JSON_V0.read_text())["config"]
    config = ExploreConfig.from_json(data)
    assert config == ExploreConfig(
        objectives="edp,area", population=4, generations=2, mapper_candidates=3,
        mapper_steps=2, max_area_mm2=50.0, constraints={"power": 100.0}, seed=1,
        device="cpu", space=DesignSpace(pe_rows=(4, 8), pe_cols=(8, 16),
                                        dataflows=("ws", "os")))
    # and writes the same settings back (the run facts are explore's to add)
    facts = {k: data.pop(k) for k in cfg.RUN_FACTS}
    later = {"islands": 1, "migrate_every": cfg.DEFAULT_MIGRATE_EVERY,  # settings added since,
             "migrants": cfg.DEFAULT_MIGRANTS, "ray": False}            # at their defaults
    assert config.to_json() == {**data, **later} and set(facts) == set(cfg.RUN_FACTS)


def test_older_run_json_without_the_later_keys_is_read():
    data = ExploreConfig(refine="gradient").to_json()
    for key in ("constraints", "refine", "cost_model_spec"):
        del data[key]
    del data["workload"]["fusion"]
    config = ExploreConfig.from_json(data)
    assert config.refine == "none" and config.constraints == {} and config.fusion is True


def test_a_damaged_run_json_config_lists_every_problem_naming_the_file():
    data = ExploreConfig().to_json()
    del data["seed"]
    data["populaton"] = 3
    data["mapper_candidates"] = "many"
    data["space"]["pe_rows"] = "x"
    with pytest.raises(ConfigError) as info:
        ExploreConfig.from_json(data, where="run/run.json config")
    message = str(info.value)
    assert message.startswith("run/run.json config: ") and "\n" not in message
    for part in ("unknown key 'populaton'; did you mean 'population'?",
                 "missing key 'seed'", "run/run.json config space: pe_rows",
                 "mapper candidates must be an integer >= 2, got 'many'"):
        assert part in message, part
    for bad in (3.5, None, []):
        with pytest.raises(ConfigError, match="expected an object of settings"):
            ExploreConfig.from_json(bad)
    with pytest.raises(ConfigError, match="workload must be an object"):
        ExploreConfig.from_json({**ExploreConfig().to_json(), "workload": 7})


def test_resumed_takes_a_given_budget_refine_and_cost_model_and_the_calls_device():
    saved = _full_config()
    same = saved.resumed(generations=None, max_evals=None, time_limit_s=None, refine=None,
                         cost_model_spec=None, device="cpu")
    assert same == saved
    again = saved.resumed(generations=4, max_evals=None, time_limit_s=None, refine="none",
                          cost_model_spec="mine", device="auto")
    # one limit given replaces the whole saved budget
    assert (again.generations, again.max_evals, again.time_limit_s) == (4, None, None)
    assert (again.refine, again.cost_model_spec, again.device) == ("none", "mine", "auto")
    assert again.replace(generations=saved.generations, max_evals=300, time_limit_s=9.5,
                         refine="gradient", cost_model_spec="analytical",
                         device="cpu") == saved
    with pytest.raises(ConfigError, match="max evals must be an integer >= 1"):
        saved.resumed(max_evals=0)


def test_every_field_has_a_setting_with_a_flag_and_help():
    for name, setting in SETTINGS.items():
        assert setting.option and setting.help.endswith("."), name
        assert setting.on_resume in ("saved", "given", "budget", "call"), name
        if setting.kind == "choice":
            assert setting.choices, name


def test_the_mapper_takes_the_range_the_config_allows():
    """mapper_candidates >= 2 and mapper_steps >= 0 for explore are what search_mappings
    takes (the CLI allowed 0 steps, explore refused them; explore took 1 candidate and
    the mapper then failed mid-run)."""
    from codesign.arch.accelerator import Accelerator
    from codesign.cost.analytical import AnalyticalCostModel
    from codesign.mapping.batch import HardwareBatch, WorkloadTensors
    from codesign.search.mapper import search_mappings
    from codesign.workload.layer import Layer, LayerTable

    assert SETTINGS["mapper_candidates"].minimum == cfg.MAPPER_MIN_CANDIDATES == 2
    assert SETTINGS["mapper_steps"].minimum == cfg.MAPPER_MIN_STEPS == 0
    hardware = HardwareBatch.from_accelerators([Accelerator()])
    workload = WorkloadTensors.from_table(LayerTable.from_layers([Layer.gemm(M=4, K=8, N=8)]))

    def search(n_candidates: int, n_steps: int):
        return search_mappings(hardware, workload, AnalyticalCostModel(),
                               n_candidates=n_candidates, n_steps=n_steps,
                               generator=torch.Generator().manual_seed(0))

    mappings, result = search(cfg.MAPPER_MIN_CANDIDATES, cfg.MAPPER_MIN_STEPS)
    assert bool(result.feasible.all())
    with pytest.raises(ConfigError, match="n_candidates >= 2"):
        search(cfg.MAPPER_MIN_CANDIDATES - 1, 1)
    with pytest.raises(ConfigError, match="n_steps >= 0"):
        search(2, cfg.MAPPER_MIN_STEPS - 1)
