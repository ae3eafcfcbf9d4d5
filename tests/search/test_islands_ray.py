"""Islands as Ray actors on a local cluster: the same result as inline islands, and a
failing island is a one-line error. Skipped without the ``ray`` extra."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ray", reason='needs the ray extra: pip install "codesign[ray]"')

from codesign.errors import RunError  # noqa: E402
from codesign.search.islands import run_islands  # noqa: E402
from codesign.search.workers import open_workers  # noqa: E402

from .test_islands import _evaluator, _plan  # noqa: E402

pytestmark = pytest.mark.slow


def test_ray_islands_give_the_inline_result():
    plan = _plan("nested", generations=3, migrate_every=1)
    inline = run_islands(_evaluator("nested"), plan, workers="inline")
    ray = run_islands(_evaluator("nested"), plan, workers="ray")
    for name in ("objectives", "hw_genes", "factors", "order"):
        assert np.array_equal(getattr(inline.archive, name), getattr(ray.archive, name)), name
    assert [r["hypervolume"] for r in inline.history] == [r["hypervolume"] for r in ray.history]


def test_a_failing_ray_actor_is_a_run_error_naming_it():
    with pytest.raises(RunError, match=r"^worker 1: ValueError: invalid literal"), \
            open_workers("ray", 2) as workers:
        workers.start(int, [("1",), ("x",)])
