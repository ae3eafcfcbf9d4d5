"""Tests for codesign/search/archive.py: dominance, hypervolume, the design archive."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.search.archive import (
    REFERENCE_POINT,
    Archive,
    hypervolume,
    non_dominated_mask,
    normalisation_bounds,
)


def test_non_dominated_mask_keeps_trade_offs_and_first_of_equals():
    f = np.array([[1.0, 4.0], [2.0, 2.0], [4.0, 1.0], [3.0, 3.0], [2.0, 2.0], [1.0, 5.0]])
    # (3,3) is dominated by (2,2); the second (2,2) equals the first; (1,5) by (1,4)
    assert non_dominated_mask(f).tolist() == [True, True, True, False, False, False]
    assert non_dominated_mask(np.zeros((0, 3))).tolist() == []



def _pairwise_mask(f):
    """The definition, row by row: no other row weakly better everywhere and strictly better
    somewhere, and no earlier row equal."""
    n = len(f)
    return [not any((f[i] <= f[j]).all() and (f[i] < f[j]).any() for i in range(n))
            and not any((f[i] == f[j]).all() for i in range(j)) for j in range(n)]


def test_non_dominated_mask_matches_the_definition_on_ties_and_infinities():
    """pymoo's find_non_dominated on finite rows, the pairwise rule where a row has inf (moocore
    would keep [1, 0, 3, inf] although [0, 0, 3, inf] dominates it)."""
    rng = np.random.default_rng(0)
    for trial in range(300):
        f = rng.integers(0, 4, (int(rng.integers(1, 30)), int(rng.integers(1, 5)))).astype(float)
        if trial % 2:
            f[rng.random(f.shape) < 0.1] = np.inf
        assert non_dominated_mask(f).tolist() == _pairwise_mask(f), f.tolist()
    f = np.array([[0.0, 0.0, 3.0, np.inf], [1.0, 0.0, 3.0, np.inf]])
    assert non_dominated_mask(f).tolist() == [True, False]

def test_hypervolume_of_known_boxes():
    lo, hi = np.zeros(2), np.ones(2)  # log10 bounds: f = 1 -> 0, f = 10 -> 1
    # the point f = (1, 1) normalises to (0, 0): box 1.1 x 1.1
    assert hypervolume(np.array([[1.0, 1.0]]), lo, hi) == pytest.approx(1.21)
    # f = (10, 10) normalises to (1, 1): box 0.1 x 0.1
    assert hypervolume(np.array([[10.0, 10.0]]), lo, hi) == pytest.approx(0.01)
    # two points (0, 1) and (1, 0): union of 1.1 x 0.1 and 0.1 x 1.1 minus overlap 0.1 x 0.1
    two = np.array([[1.0, 10.0], [10.0, 1.0]])
    assert hypervolume(two, lo, hi) == pytest.approx(0.11 + 0.11 - 0.01)
    # beyond the reference point counts nothing; an empty set is 0
    assert hypervolume(np.array([[100.0, 1.0]]), lo, hi) == 0.0
    assert hypervolume(np.zeros((0, 2)), lo, hi) == 0.0
    assert REFERENCE_POINT == 1.1


def test_normalisation_bounds_in_decades_and_flat_objectives():
    lo, hi = normalisation_bounds(np.array([[1.0, 5.0], [100.0, 5.0]]))
    assert lo[0] == pytest.approx(0.0) and hi[0] == pytest.approx(2.0)
    # a flat objective gets one decade centred on its value
    assert hi[1] - lo[1] == pytest.approx(1.0)


def _batch(objectives, feasible):
    n = len(objectives)
    return (np.asarray(objectives, dtype=float), np.asarray(feasible), np.arange(n * 6.0)
            .reshape(n, 6), np.ones((n, 2, 5, 8), dtype=np.int64),
            np.zeros((n, 2, 3, 8), dtype=np.int64))


def test_archive_keeps_feasible_non_dominated_and_their_genes():
    archive = Archive.empty(2, 6, 2)
    archive.update(*_batch([[1, 4], [4, 1], [0.5, 0.5]], [True, True, False]))
    assert archive.objectives.tolist() == [[1, 4], [4, 1]]  # the infeasible point is ignored
    archive.update(*_batch([[2, 2], [5, 5]], [True, True]))
    assert sorted(archive.objectives.tolist()) == [[1, 4], [2, 2], [4, 1]]
    assert archive.hw_genes.shape == (3, 6) and archive.factors.shape == (3, 2, 5, 8)
    assert archive.sorted().objectives[:, 0].tolist() == [1, 2, 4]
    again = Archive.from_arrays(archive.to_arrays())
    assert np.array_equal(again.objectives, archive.objectives)
