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

import math

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
        mapper's rank key: comparable between mappings of the same design only). Rows are
        in ascending (lexicographic) key order.

    It grows with the distinct designs a run evaluates (at most the size of the space):
    264 bytes per design and layer, e.g. 20 MB for ResNet-50's 24 layers after 3,200
    designs (up to twice that while its storage grows). An `update` writes only the batch's
    rows: rows are stored in arrival order (with room to grow) and a sorted index of the
    keys finds them (one `searchsorted`); coding the stored keys for that index is still
    linear in the memory (cheap integer work), and the key-ordered arrays above are built
    when read.
    """

    def __init__(self, objective: str = "edp") -> None:
        #: the mapper objective whose rank keys ``score`` holds
        self.objective = objective
        self._n = 0  # rows in use of the storage below (arrival order)
        self._keys: np.ndarray | None = None  # [capacity, H] int64
        self._factors: np.ndarray | None = None  # [capacity, L, 5, D] int32
        self._order: np.ndarray | None = None  # [capacity, L, 3, D] int32
        self._score: np.ndarray | None = None  # [capacity, L] float64
        self._sorted = np.zeros(0, dtype=np.int64)  # [N] storage rows in key order

    def __len__(self) -> int:
        return self._n

    # -- the key-ordered view ------------------------------------------------------------
    @property
    def keys(self) -> np.ndarray | None:
        return None if self._keys is None else self._keys[self._sorted]

    @property
    def factors(self) -> np.ndarray | None:
        return None if self._factors is None else self._factors[self._sorted]

    @property
    def order(self) -> np.ndarray | None:
        return None if self._order is None else self._order[self._sorted]

    @property
    def score(self) -> np.ndarray | None:
        return None if self._score is None else self._score[self._sorted]

    def mappings(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Factors and order of the given rows (as `nearest` numbers them), without
        building the whole key-ordered arrays.

        Shape:
            rows: ``[B]`` -> ``[B, L, 5, D]`` and ``[B, L, 3, D]`` int32.
        """
        assert self._factors is not None and self._order is not None
        stored = self._sorted[rows]
        return self._factors[stored], self._order[stored]

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
        assert self._n
        stored = self.keys
        rows = []
        for start in range(0, keys.shape[0], _CHUNK):  # [chunk, N] at a time, not [B, N, H]
            part = keys[start : start + _CHUNK]
            dist = DATAFLOW_STEPS * (part[:, None, -1] != stored[None, :, -1])  # [b, N]
            for h in range(keys.shape[1] - 1):
                dist = dist + np.abs(part[:, None, h] - stored[None, :, h])
            rows.append(dist.argmin(1))
        return np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)

    def update(self, keys: np.ndarray, factors: np.ndarray, order: np.ndarray,
               score: np.ndarray) -> None:
        """Fold new mappings in: per design and layer the lowest score wins (the stored
        one on ties, else the earliest row of the batch).

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
        keys = np.asarray(keys, dtype=np.int64)
        if keys.shape[0] == 0:
            return
        uniq, factors, order, score = _best_per_design(keys, factors, order, score)
        if self._keys is None:
            self._store(uniq, factors, order, score)
            return
        # where each new design is (or would go) in the stored key order
        codes = _lexicographic_codes(np.concatenate([self._keys[self._sorted], uniq]))
        if codes is None:  # keys too wide for one int64 code: merge the slow way
            self._merge_all(uniq, factors, order, score)
            return
        stored_codes, new_codes = codes[: self._n], codes[self._n :]
        pos = np.searchsorted(stored_codes, new_codes)
        found = pos < self._n
        found[found] = stored_codes[pos[found]] == new_codes[found]
        # known designs: per layer, the new mapping where its score is lower
        rows = self._sorted[pos[found]]
        old, new = self._score[rows], score[found]
        better = (new < old) | (np.isnan(old) & ~np.isnan(new))  # [F, L]
        r, layer = np.nonzero(better)
        self._factors[rows[r], layer] = factors[found][r, layer]
        self._order[rows[r], layer] = order[found][r, layer]
        self._score[rows[r], layer] = new[r, layer]
        # new designs: appended, and their rows inserted into the key order
        fresh = ~found
        if fresh.any():
            start = self._n
            self._append(uniq[fresh], factors[fresh], order[fresh], score[fresh])
            self._sorted = np.insert(self._sorted, pos[fresh],
                                     np.arange(start, self._n, dtype=np.int64))

    def _store(self, keys, factors, order, score) -> None:
        """A memory of exactly these (distinct, key-sorted) designs."""
        self._keys = np.asarray(keys, dtype=np.int64).copy()
        self._factors = np.asarray(factors).astype(np.int32)  # half the bytes of int64
        self._order = np.asarray(order).astype(np.int32)
        self._score = np.asarray(score, dtype=np.float64).copy()
        self._n = self._keys.shape[0]
        self._sorted = np.arange(self._n, dtype=np.int64)

    def _append(self, keys, factors, order, score) -> None:
        """Rows added at the end of the storage, which doubles when full."""
        n_new = keys.shape[0]
        if self._n + n_new > self._keys.shape[0]:
            capacity = max(2 * self._keys.shape[0], self._n + n_new)
            for name in ("_keys", "_factors", "_order", "_score"):
                old = getattr(self, name)
                grown = np.empty((capacity, *old.shape[1:]), dtype=old.dtype)
                grown[: self._n] = old[: self._n]
                setattr(self, name, grown)
        end = self._n + n_new
        self._keys[self._n : end] = keys
        self._factors[self._n : end] = factors
        self._order[self._n : end] = order
        self._score[self._n : end] = score
        self._n = end

    def _merge_all(self, keys, factors, order, score) -> None:
        """`update` over the whole memory at once (keys too wide to code as one int64)."""
        self._store(*_best_per_design(
            np.concatenate([self.keys, keys]), np.concatenate([self.factors, factors]),
            np.concatenate([self.order, order]), np.concatenate([self.score, score])))

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
            memory._store(arrays[prefix + "keys"], arrays[prefix + "factors"],
                          arrays[prefix + "order"], arrays[prefix + "score"])
        return memory


def _best_per_design(keys: np.ndarray, factors: np.ndarray, order: np.ndarray,
                     score: np.ndarray) -> tuple[np.ndarray, ...]:
    """Distinct designs in key order and per (design, layer) the row with the lowest
    score (the earliest row on ties; NaN counts as worst).

    Shape:
        keys ``[R, H]``, factors ``[R, L, 5, D]``, order ``[R, L, 3, D]``, score
        ``[R, L]`` -> the same with ``U <= R`` distinct designs.
    """
    uniq, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.reshape(-1)
    n_rows, n_l = score.shape
    layer = np.broadcast_to(np.arange(n_l), (n_rows, n_l))
    cell = group[:, None] * n_l + layer  # [R, L]
    row = np.broadcast_to(np.arange(n_rows)[:, None], (n_rows, n_l))
    pick = np.lexsort((row.ravel(), score.ravel(), cell.ravel()))
    first = np.ones(pick.shape[0], dtype=bool)
    first[1:] = cell.ravel()[pick][1:] != cell.ravel()[pick][:-1]
    best = pick[first]  # flat [R * L] indices, ordered by cell = (design, layer)
    best_row, best_layer = best // n_l, best % n_l
    n_u = uniq.shape[0]
    return (uniq, factors[best_row, best_layer].reshape(n_u, n_l, *factors.shape[2:]),
            order[best_row, best_layer].reshape(n_u, n_l, *order.shape[2:]),
            score[best_row, best_layer].reshape(n_u, n_l))


def _lexicographic_codes(keys: np.ndarray) -> np.ndarray | None:
    """One int64 per row that orders as the rows do lexicographically (mixed radix, each
    gene's radix one above its largest value); None when the codes would not fit.

    >>> _lexicographic_codes(np.array([[0, 2], [1, 0], [0, 1]])).tolist()
    [2, 3, 1]
    """
    radix = keys.max(0) + 1 if keys.shape[0] else np.ones(keys.shape[1], np.int64)
    if keys.min(initial=0) < 0 or math.prod(int(r) for r in radix) >= 1 << 62:
        return None
    weights = np.cumprod(np.concatenate([radix[1:], [1]])[::-1])[::-1]  # [H]
    return keys @ weights
