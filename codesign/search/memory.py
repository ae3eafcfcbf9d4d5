"""Mapping memory of the nested search: the best mapping found so far for every layer of
every design evaluated, so that mapper effort accumulates over generations.

Without it, the nested strategy's inner mapper starts every design from scratch each
generation: a design NSGA-II proposes again (or a child one gene away from its parent)
gets the same modest effort and forgets what earlier generations found. With it, each
design's mapper population also holds the best known mappings of the *nearest* design
evaluated before (the same design when it was seen; else the closest in allowed-value
steps, made valid on the new array by `fit_to_array`). They take the place of one
starting candidate, so the evaluation count does not change.

Designs are keyed by their allowed-value indices (`DesignSpace.indices`), so genes that
snap to the same design share one entry.
"""

from __future__ import annotations

import numpy as np

__all__ = ["DATAFLOW_STEPS", "MappingMemory"]

#: Queried designs per block in `MappingMemory.nearest` (bounds its ``[block, N]`` table).
_CHUNK = 256
#: Distance of a different dataflow, in allowed-value steps of the size genes: a mapping
#: from another dataflow loses its spatial dims, so it counts as far.
DATAFLOW_STEPS = 4


class MappingMemory:
    """Per distinct design: the best mapping found for every layer, with its rank key.

    Shape:
        keys: ``[N, H]`` int64 allowed-value indices; factors: ``[N, L, 5, D]`` int32;
        order: ``[N, L, 3, D]`` int32; score: ``[N, L]`` float64, lower is better (the
        mapper's rank key: comparable between mappings of the same design only).

    It grows with the distinct designs a run evaluates (at most the size of the space):
    264 bytes per design and layer, e.g. 20 MB for ResNet-50's 24 layers after 3,200
    designs (twice that for a moment while `update` merges).
    """

    def __init__(self, objective: str = "edp") -> None:
        #: the mapper objective whose rank keys ``score`` holds
        self.objective = objective
        self.keys: np.ndarray | None = None
        self.factors: np.ndarray | None = None
        self.order: np.ndarray | None = None
        self.score: np.ndarray | None = None

    def __len__(self) -> int:
        return 0 if self.keys is None else self.keys.shape[0]

    def nearest(self, keys: np.ndarray) -> np.ndarray:
        """Row of the nearest stored design of every queried one (first on ties): L1
        distance over the size genes plus `DATAFLOW_STEPS` for another dataflow (the
        last gene). The memory must not be empty.

        Shape:
            keys: ``[B, H]`` -> ``[B]`` int64.

        >>> m = MappingMemory()
        >>> f, o = np.ones((2, 1, 5, 8), np.int64), np.zeros((2, 1, 3, 8), np.int64)
        >>> m.update(np.array([[0, 0, 0], [3, 3, 1]]), f, o, np.zeros((2, 1)))
        >>> m.nearest(np.array([[1, 0, 1], [3, 2, 1]])).tolist()   # distances 5 vs 5; 1
        [0, 1]
        """
        assert self.keys is not None
        rows = []
        for start in range(0, keys.shape[0], _CHUNK):  # [chunk, N] at a time, not [B, N, H]
            part = keys[start : start + _CHUNK]
            dist = DATAFLOW_STEPS * (part[:, None, -1] != self.keys[None, :, -1])  # [b, N]
            for h in range(keys.shape[1] - 1):
                dist = dist + np.abs(part[:, None, h] - self.keys[None, :, h])
            rows.append(dist.argmin(1))
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)

    def update(self, keys: np.ndarray, factors: np.ndarray, order: np.ndarray,
               score: np.ndarray) -> None:
        """Fold new mappings in: per design and layer the lowest score wins (the stored
        one on ties).

        Shape:
            keys: ``[B, H]``; factors: ``[B, L, 5, D]``; order: ``[B, L, 3, D]``;
            score: ``[B, L]``.

        >>> m = MappingMemory()
        >>> o = np.zeros((1, 2, 3, 8), np.int64)
        >>> m.update(np.array([[1, 2]]), np.full((1, 2, 5, 8), 1), o, np.array([[5., 5.]]))
        >>> m.update(np.array([[1, 2]]), np.full((1, 2, 5, 8), 2), o, np.array([[4., 6.]]))
        >>> len(m), m.factors[0, :, 0, 0].tolist(), m.score.tolist()   # layer 0 improved
        (1, [2, 1], [[4.0, 5.0]])
        """
        if self.keys is None:
            all_keys, all_f, all_o, all_s = keys, factors, order, score
        else:
            all_keys = np.concatenate([self.keys, keys])
            all_f = np.concatenate([self.factors, factors])
            all_o = np.concatenate([self.order, order])
            all_s = np.concatenate([self.score, score])
        uniq, group = np.unique(all_keys, axis=0, return_inverse=True)
        group = group.reshape(-1)
        n_rows, n_l = all_s.shape
        # per (design, layer): the row with the lowest score, earliest row on ties
        layer = np.broadcast_to(np.arange(n_l), (n_rows, n_l))
        cell = group[:, None] * n_l + layer  # [R, L]
        row = np.broadcast_to(np.arange(n_rows)[:, None], (n_rows, n_l))
        pick = np.lexsort((row.ravel(), all_s.ravel(), cell.ravel()))
        first = np.ones(pick.shape[0], dtype=bool)
        first[1:] = cell.ravel()[pick][1:] != cell.ravel()[pick][:-1]
        best = pick[first]  # flat [R * L] indices, ordered by cell = (design, layer)
        best_row, best_layer = best // n_l, best % n_l
        n_u = uniq.shape[0]
        self.keys = uniq
        # int32: half the bytes of int64 (factors and orders fit easily)
        self.factors = all_f[best_row, best_layer].reshape(
            n_u, n_l, *all_f.shape[2:]).astype(np.int32)
        self.order = all_o[best_row, best_layer].reshape(
            n_u, n_l, *all_o.shape[2:]).astype(np.int32)
        self.score = all_s[best_row, best_layer].reshape(n_u, n_l)

    def to_arrays(self, prefix: str = "memory_") -> dict[str, np.ndarray]:
        """Plain arrays for an ``.npz`` checkpoint (none while empty)."""
        if self.keys is None:
            return {}
        return {prefix + k: getattr(self, k) for k in ("keys", "factors", "order", "score")}

    @classmethod
    def from_arrays(cls, arrays, objective: str, prefix: str = "memory_") -> MappingMemory:
        """The memory `to_arrays` saved (empty when the arrays hold none).

        >>> m = MappingMemory()
        >>> m.update(np.array([[1, 2]]), np.ones((1, 1, 5, 8)), np.zeros((1, 1, 3, 8)),
        ...          np.array([[3.0]]))
        >>> back = MappingMemory.from_arrays(m.to_arrays(), "edp")
        >>> len(back), back.score.tolist()
        (1, [[3.0]])
        """
        memory = cls(objective)
        if prefix + "keys" in arrays:
            memory.keys = np.asarray(arrays[prefix + "keys"], dtype=np.int64)
            memory.factors = np.asarray(arrays[prefix + "factors"], dtype=np.int32)
            memory.order = np.asarray(arrays[prefix + "order"], dtype=np.int32)
            memory.score = np.asarray(arrays[prefix + "score"], dtype=np.float64)
        return memory
