"""Tests for codesign/search/workers.py: objects built once and called in step, in this
process and in spawned processes; failures are `RunError`s naming the worker."""

from __future__ import annotations

import pytest

from codesign.errors import ConfigError, RunError
from codesign.search.workers import open_workers


@pytest.mark.parametrize("kind", ["inline", "processes"])
def test_workers_keep_their_object_between_calls(kind):
    with open_workers(kind, 2) as workers:
        workers.start(list, [((1, 2),), ((3,),)])
        workers.call("append", {0: (9,), 1: (8,)})
        assert workers.call("copy", {0: (), 1: ()}) == {0: [1, 2, 9], 1: [3, 8]}
        assert workers.call("__len__", {1: ()}) == {1: 2}  # only the workers asked


def test_a_failing_call_or_start_names_the_worker():
    with pytest.raises(RunError, match=r"^worker 1: ValueError: invalid literal"), \
            open_workers("processes", 2) as workers:
        workers.start(int, [("1",), ("x",)])
    with open_workers("inline", 1) as workers:
        workers.start(list, [((),)])
        with pytest.raises(IndexError):  # inline: the object's own exception
            workers.call("pop", {0: ()})


def test_an_unknown_kind_is_refused():
    with pytest.raises(ConfigError, match="unknown worker kind 'threads'"), \
            open_workers("threads", 2):
        pass
