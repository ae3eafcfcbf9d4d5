"""Tests for codesign/search/memory.py: the nested search's mapping memory."""

from __future__ import annotations

import numpy as np
import pytest

from codesign.search.memory import DATAFLOW_STEPS, MappingMemory


def _entries(n_designs, n_layers, value):
    """Factors filled with ``value`` (to tell entries apart), orders all zero."""
    return (np.full((n_designs, n_layers, 5, 8), value, np.int64),
            np.zeros((n_designs, n_layers, 3, 8), np.int64))


def test_best_mapping_per_design_and_layer_wins_across_updates():
    memory = MappingMemory()
    keys = np.array([[0, 1, 2], [3, 3, 0]])
    memory.update(keys, *_entries(2, 3, 1), np.array([[1.0, 5.0, 2.0], [7.0, 7.0, 7.0]]))
    # design 0 seen again (twice in one batch), design [3, 3, 0] not; a new design appears
    memory.update(np.array([[0, 1, 2], [0, 1, 2], [9, 9, 9]]),
                  np.concatenate([_entries(2, 3, 2)[0], _entries(1, 3, 3)[0]]),
                  np.zeros((3, 3, 3, 8), np.int64),
                  np.array([[2.0, 4.0, 2.0], [0.5, 6.0, 3.0], [1.0, 1.0, 1.0]]))
    assert len(memory) == 3
    row = {tuple(k): i for i, k in enumerate(memory.keys.tolist())}
    d0 = row[(0, 1, 2)]
    # layer 0: 0.5 (second new row), layer 1: 4.0 (first new row), layer 2: tie 2.0 -> old
    assert memory.score[d0].tolist() == [0.5, 4.0, 2.0]
    assert memory.factors[d0, :, 0, 0].tolist() == [2, 2, 1]
    assert memory.score[row[(3, 3, 0)]].tolist() == [7.0, 7.0, 7.0]
    assert memory.factors[row[(9, 9, 9)], :, 0, 0].tolist() == [3, 3, 3]


def test_nearest_counts_size_steps_and_a_dataflow_change():
    memory = MappingMemory()
    memory.update(np.array([[0, 0, 0], [2, 2, 1]]), *_entries(2, 1, 1), np.zeros((2, 1)))
    queries = np.array([
        [0, 0, 0],  # itself: 0 vs 4 + DATAFLOW_STEPS
        [2, 2, 0],  # 4 size steps vs a dataflow change (4): a tie, the first row wins
        [1, 1, 1],  # 2 + DATAFLOW_STEPS vs 2
    ])
    assert DATAFLOW_STEPS == 4
    assert memory.nearest(queries).tolist() == [0, 0, 1]


def test_nearest_in_blocks_matches_the_whole_table():
    # more queries than one block (256): the blockwise answer is the brute-force argmin
    rng = np.random.default_rng(0)
    stored = np.unique(rng.integers(0, 6, (300, 6)), axis=0)
    memory = MappingMemory()
    memory.update(stored, *_entries(len(stored), 1, 1), np.zeros((len(stored), 1)))
    queries = rng.integers(0, 6, (700, 6))
    diff = np.abs(queries[:, None, :] - memory.keys[None, :, :])
    brute = (diff[..., :-1].sum(-1) + DATAFLOW_STEPS * (diff[..., -1] > 0)).argmin(1)
    assert memory.nearest(queries).tolist() == brute.tolist()


def _reference_memory(batches):
    """What the memory must hold after ``batches``, per design in a dict: the lowest score
    per layer, the earliest on ties (stored before new, batch rows in order)."""
    best = {}
    for keys, factors, score in batches:
        for k, f, s in zip(keys.tolist(), factors, score, strict=True):
            entry = best.setdefault(tuple(k), [list(s), [row for row in f]])
            for layer, value in enumerate(s):
                if value < entry[0][layer]:
                    entry[0][layer], entry[1][layer] = value, f[layer]
    return dict(sorted(best.items()))


@pytest.mark.parametrize("wide", [False, True])
def test_updates_match_a_per_design_reference(wide):
    # many small batches with repeats within and across them; ``wide`` keys do not fit
    # one int64 code and take the whole-memory merge
    rng = np.random.default_rng(1)
    memory, batches = MappingMemory(), []
    high = 1 << 40 if wide else 4
    pool = rng.integers(0, high, (12, 3))
    for _ in range(25):
        keys = pool[rng.integers(0, len(pool), rng.integers(1, 7))]
        factors = rng.integers(1, 50, (len(keys), 2, 5, 8))
        score = rng.integers(0, 4, (len(keys), 2)).astype(np.float64)  # ties are common
        memory.update(keys, factors, np.zeros((len(keys), 2, 3, 8), np.int64), score)
        batches.append((keys, factors, score))
    want = _reference_memory(batches)
    assert [tuple(k) for k in memory.keys.tolist()] == list(want)
    assert memory.score.tolist() == [s for s, _ in want.values()]
    assert memory.factors.tolist() == [np.array(f).tolist() for _, f in want.values()]
    rows = memory.nearest(pool[:5])
    assert (memory.keys[rows] == pool[:5]).all()  # every design finds itself
    f, o = memory.mappings(rows)
    assert (f == memory.factors[rows]).all() and (o == memory.order[rows]).all()


def test_a_checkpointed_memory_comes_back_and_grows():
    memory = MappingMemory()
    memory.update(np.array([[2, 0], [0, 1]]), *_entries(2, 1, 1), np.array([[3.0], [1.0]]))
    back = MappingMemory.from_arrays(memory.to_arrays(), "edp")
    back.update(np.array([[1, 5], [2, 0]]), *_entries(2, 1, 2), np.array([[0.0], [2.0]]))
    assert back.keys.tolist() == [[0, 1], [1, 5], [2, 0]]
    assert back.score[:, 0].tolist() == [1.0, 0.0, 2.0]
    assert back.factors[:, 0, 0, 0].tolist() == [1, 2, 2]
