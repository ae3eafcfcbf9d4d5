"""Non-dominated filtering, the archive of the best designs seen, and normalised hypervolume.

The archive keeps every feasible non-dominated design evaluated so far, with what is needed
to cost it again exactly (hardware genes and the integer mapping tensors), so that the front
a run reports does not depend on what the algorithm's population happened to keep.

Hypervolume is measured on ``log10`` objectives normalised by fixed bounds ``lo`` and ``hi``
(per objective, see `normalisation_bounds`) against the reference point ``1.1`` in every
normalised coordinate (`REFERENCE_POINT`): a design at ``hi`` still counts a little, a
design worse than ``hi * 10**(0.1 * (log10 hi - log10 lo))`` does not count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "REFERENCE_POINT",
    "Archive",
    "hypervolume",
    "non_dominated_mask",
    "normalisation_bounds",
]

#: Reference point of the hypervolume, in every normalised coordinate.
REFERENCE_POINT = 1.1


def non_dominated_mask(objectives: np.ndarray) -> np.ndarray:
    """Which rows no other row dominates (all objectives minimised); of equal rows only the
    first is kept.

    Finite objectives go through pymoo's `find_non_dominated` (moocore's C code: a
    3,000-row batch takes about a millisecond instead of a second pairwise). Rows with
    ``inf`` or ``NaN`` are compared pairwise here, because moocore lets a row with ``inf``
    escape domination by one that is better or equal everywhere (``[1, 0, 3, inf]`` is not
    dominated by ``[0, 0, 3, inf]`` there), and so that a ``NaN`` row keeps the meaning it
    has always had here (it compares false, so nothing dominates it and it dominates
    nothing). Host numpy, called once per generation with the archive, after pymoo has
    brought the objectives to the host anyway.

    Shape:
        objectives: ``[N, O]`` -> ``[N]`` bool.

    >>> non_dominated_mask(np.array([[1, 2], [2, 1], [2, 2], [1, 2]])).tolist()
    [True, True, False, False]
    """
    f = np.asarray(objectives, dtype=np.float64)
    n = f.shape[0]
    if n == 0:
        return np.zeros(0, dtype=bool)
    if not np.isfinite(f).all():
        le = (f[:, None, :] <= f[None, :, :]).all(-1)  # [N, N]: i weakly better than j
        lt = (f[:, None, :] < f[None, :, :]).any(-1)
        dominated = (le & lt).any(0)  # j dominated by some i
        equal = le & le.T
        earlier_equal = np.triu(equal, k=1).any(0)  # an earlier row equals row j
        return ~dominated & ~earlier_equal
    from pymoo.util.nds.non_dominated_sorting import find_non_dominated

    front = find_non_dominated(f)  # keeps every copy of an equal non-dominated row
    g = f[front]
    equal = (g[:, None, :] == g[None, :, :]).all(-1)  # [K, K] over the front only
    mask = np.zeros(n, dtype=bool)
    mask[front[~np.triu(equal, k=1).any(0)]] = True
    return mask


def normalisation_bounds(objectives: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``lo``, ``hi`` (``[O]``, in log10 units) from a reference sample of objectives: its
    per-objective min and max; a flat objective gets a width of one decade.

    Shape:
        objectives: ``[N, O]`` positive -> (``[O]``, ``[O]``).
    """
    z = np.log10(np.maximum(np.asarray(objectives, dtype=np.float64), 1e-300))
    lo, hi = z.min(0), z.max(0)
    flat = hi - lo < 1e-12
    return lo - 0.5 * flat, hi + 0.5 * flat


def hypervolume(objectives: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> float:
    """Hypervolume of ``log10`` objectives normalised to ``(z - lo) / (hi - lo)``, against
    `REFERENCE_POINT` in every coordinate. An empty set has hypervolume 0.

    Shape:
        objectives: ``[N, O]`` positive; lo, hi: ``[O]`` log10 bounds.

    >>> lo, hi = np.zeros(2), np.ones(2)
    >>> round(hypervolume(np.array([[1.0, 1.0]]), lo, hi), 6)   # the point (0, 0)
    1.21
    """
    f = np.asarray(objectives, dtype=np.float64)
    if f.shape[0] == 0:
        return 0.0
    from pymoo.indicators.hv import HV

    z = (np.log10(np.maximum(f, 1e-300)) - lo) / (hi - lo)
    z = z[(z < REFERENCE_POINT).all(1)]
    if z.shape[0] == 0:
        return 0.0
    return float(HV(ref_point=np.full(f.shape[1], REFERENCE_POINT))(z))


@dataclass
class Archive:
    """Feasible non-dominated designs seen so far, and how to rebuild each exactly.

    Shape:
        objectives: ``[N, O]`` float; hw_genes: ``[N, H]`` float;
        factors: ``[N, L, 5, D]`` int64; order: ``[N, L, 3, D]`` int64.
    """

    objectives: np.ndarray
    hw_genes: np.ndarray
    factors: np.ndarray
    order: np.ndarray

    @classmethod
    def empty(cls, n_objectives: int, n_hw_genes: int, n_layers: int) -> Archive:
        return cls(np.zeros((0, n_objectives)), np.zeros((0, n_hw_genes)),
                   np.zeros((0, n_layers, 5, 8), dtype=np.int64),
                   np.zeros((0, n_layers, 3, 8), dtype=np.int64))

    def __len__(self) -> int:
        return self.objectives.shape[0]

    def update(self, objectives: np.ndarray, feasible: np.ndarray, hw_genes: np.ndarray,
               factors: np.ndarray, order: np.ndarray) -> None:
        """Merge the feasible rows of a new batch and keep the non-dominated ones.

        Archive rows come first, so a new design equal to an archived one is dropped and
        the archive does not churn.
        """
        keep = np.asarray(feasible, dtype=bool) & np.isfinite(objectives).all(1)
        f = np.concatenate([self.objectives, objectives[keep]])
        mask = non_dominated_mask(f)
        self.objectives = f[mask]
        self.hw_genes = np.concatenate([self.hw_genes, hw_genes[keep]])[mask]
        self.factors = np.concatenate([self.factors, factors[keep].astype(np.int64)])[mask]
        self.order = np.concatenate([self.order, order[keep].astype(np.int64)])[mask]

    def sorted(self) -> Archive:
        """Rows in lexicographic order of objectives (first objective first)."""
        idx = np.lexsort(self.objectives.T[::-1]) if len(self) else np.zeros(0, dtype=np.int64)
        return Archive(self.objectives[idx], self.hw_genes[idx], self.factors[idx],
                       self.order[idx])

    def to_arrays(self, prefix: str = "archive_") -> dict[str, np.ndarray]:
        """Plain arrays for an ``.npz`` checkpoint."""
        return {prefix + k: getattr(self, k) for k in ("objectives", "hw_genes", "factors",
                                                       "order")}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "archive_") -> Archive:
        return cls(*(np.asarray(arrays[prefix + k]) for k in ("objectives", "hw_genes",
                                                               "factors", "order")))
