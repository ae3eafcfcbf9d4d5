"""The options of ``codesign explore`` are the fields of `ExploreConfig`, with the same flags,
choices and defaults; ``map`` and ``inspect`` share theirs (codesign/search/config.py)."""

from __future__ import annotations

import dataclasses

import click
import pytest

from codesign import cli
from codesign.search.config import SETTINGS, ExploreConfig


def _params(command: click.Command) -> dict[str, click.Parameter]:
    return {p.name: p for p in command.params if p.name != "help"}


def _field_default(name: str):
    field = next(f for f in dataclasses.fields(ExploreConfig) if f.name == name)
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()


def test_every_explore_option_is_a_setting_and_every_setting_an_option():
    params = _params(cli.explore)
    assert set(cli.EXPLORE_RUN_OPTIONS) <= set(params)
    settings = set(params) - set(cli.EXPLORE_RUN_OPTIONS)
    assert settings == set(SETTINGS), (settings ^ set(SETTINGS))


@pytest.mark.parametrize("name", [n for n in SETTINGS if n != "model"])
def test_an_explore_option_has_the_settings_flag_choices_and_default(name):
    setting, option = SETTINGS[name], _params(cli.explore)[name]
    assert isinstance(option, click.Option)
    flags = "/".join(option.opts + option.secondary_opts)
    assert flags == setting.option
    if setting.choices:
        assert tuple(option.type.choices) == setting.choices
    default = _field_default(name)
    if setting.on_resume in ("given", "budget"):
        # not given: the saved value on --resume, the config's default otherwise
        assert option.default is None
        if default is not None:
            assert setting.default_text == str(default)
    elif setting.kind == "names":
        assert tuple(option.default.split(",")) == default
    elif option.multiple or setting.kind == "space":
        assert option.default is None and default in ({}, None, ExploreConfig().space)
    else:
        assert option.default == default
    assert setting.help in option.help


def test_the_model_argument_is_the_model_setting():
    argument = _params(cli.explore)["model"]
    assert isinstance(argument, click.Argument) and SETTINGS["model"].option == "MODEL"


def test_map_and_inspect_share_explores_options():
    for command, names in ((cli.map_command, ("device", "seed", "cost_model_spec",
                                              "input_shapes", "dims", "fusion")),
                           (cli.inspect, ("input_shapes", "dims", "fusion"))):
        params = _params(command)
        for name in names:
            ours, theirs = params[name], _params(cli.explore)[name]
            assert ours.opts == theirs.opts and ours.help == theirs.help, name
            assert ours.default == theirs.default, name
            assert type(ours.type) is type(theirs.type), name
            assert getattr(ours.type, "choices", None) == getattr(theirs.type, "choices", None)


def test_map_choices_are_the_mappers():
    from codesign.search.mapper import EFFORTS, OBJECTIVES

    params = _params(cli.map_command)
    assert tuple(params["effort"].type.choices) == tuple(EFFORTS)
    assert tuple(params["objective"].type.choices) == OBJECTIVES
