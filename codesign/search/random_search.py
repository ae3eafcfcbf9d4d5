"""``random``: uniform random genomes, the baseline every search should beat.

Each generation draws ``[P, V]`` genes from a `numpy.random.Generator` seeded by (seed,
generation), so a resumed run draws what an uninterrupted one would; nothing is learnt from
the costs and nothing needs to be checkpointed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from codesign.search.protocol import SearchSetup

if TYPE_CHECKING:
    from codesign.search.problem import Evaluation

__all__ = ["RandomSearch"]


class RandomSearch:
    """Uniform random genomes, ``setup.population`` per generation (a `Search`)."""

    def __init__(self, setup: SearchSetup) -> None:
        self.setup = setup
        self.generation = setup.generation

    def ask(self) -> np.ndarray:
        rng = np.random.default_rng([self.setup.seed, self.generation])
        return rng.random((self.setup.population, self.setup.n_var))

    def tell(self, x: np.ndarray, evaluation: Evaluation) -> None:
        self.generation += 1

    @property
    def population(self) -> np.ndarray | None:
        return None
