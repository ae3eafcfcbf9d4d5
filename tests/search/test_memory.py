"""Tests for codesign/search/memory.py: the nested search's mapping memory."""

from __future__ import annotations

import numpy as np

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
