"""pymoo's multi-objective algorithms (NSGA-II, NSGA-III, AGE-MOEA-II, SMS-EMOA) as searches.

`PymooSearch` drives any pymoo `Algorithm` through the search protocol: `ask` hands out the
genomes of pymoo's infill population that it has not evaluated yet, `tell` gives pymoo
their costs through pymoo's own `Evaluator` (so its bookkeeping, constraint violation and
evaluation counts are pymoo's) and calls pymoo's ``tell``. pymoo sees ``log10`` objectives
(they span decades; crowding and reference directions work better on comparable scales)
and the constraints as they are (``G <= 0`` feasible).
"""

from __future__ import annotations

from math import comb
from typing import TYPE_CHECKING, Any

import numpy as np
from pymoo.core.problem import Problem

from codesign.errors import ConfigError
from codesign.search.protocol import SearchFactory, SearchSetup

if TYPE_CHECKING:
    from codesign.search.problem import Evaluation

__all__ = ["PYMOO_ALGORITHMS", "PymooSearch", "make_algorithm", "pymoo_search"]

#: pymoo algorithms `make_algorithm` builds.
PYMOO_ALGORITHMS: tuple[str, ...] = ("nsga2", "nsga3", "agemoea2", "smsemoa")


def make_algorithm(name: str, population: int, n_objectives: int,
                   initial: np.ndarray | None = None) -> Any:
    """A configured pymoo algorithm (one of `PYMOO_ALGORITHMS`); ``initial`` ``[P, V]``
    seeds the first population (a resumed run)."""
    if name not in PYMOO_ALGORITHMS:
        raise ConfigError(f"unknown pymoo algorithm {name!r}; choose one of "
                          f"{', '.join(PYMOO_ALGORITHMS)}")
    kwargs: dict[str, Any] = {"pop_size": population, "eliminate_duplicates": True}
    if initial is not None:
        kwargs["sampling"] = np.asarray(initial, dtype=np.float64)
    if name == "nsga2":
        from pymoo.algorithms.moo.nsga2 import NSGA2

        return NSGA2(**kwargs)
    if name == "nsga3":
        from pymoo.algorithms.moo.nsga3 import NSGA3
        from pymoo.util.ref_dirs import get_reference_directions

        partitions = 1
        while n_objectives > 1 and _n_simplex_points(n_objectives, partitions + 1) <= population:
            # (one objective has a single reference direction: the loop would never end)
            partitions += 1
        ref_dirs = get_reference_directions("das-dennis", n_objectives,
                                            n_partitions=partitions)
        return NSGA3(ref_dirs=ref_dirs, **kwargs)
    if name == "smsemoa":
        from pymoo.algorithms.moo.sms import SMSEMOA

        return SMSEMOA(**kwargs)
    try:
        from pymoo.algorithms.moo.age2 import AGEMOEA2
    except Exception:  # pymoo raises a bare Exception when numba is missing
        raise ConfigError("algorithm agemoea2 needs numba: pip install numba (or "
                          "pip install 'codesign[agemoea2]'), or pick another algorithm"
                          ) from None
    return AGEMOEA2(**kwargs)


def _n_simplex_points(n_objectives: int, partitions: int) -> int:
    return comb(partitions + n_objectives - 1, n_objectives - 1)


class _ToldProblem(Problem):
    """A pymoo problem whose evaluation is the one the run loop already did: `tell` sets
    ``told`` and pymoo's evaluator reads it back for the same genomes."""

    def __init__(self, setup: SearchSetup) -> None:
        self.told: tuple[np.ndarray, Evaluation] | None = None
        super().__init__(n_var=setup.n_var, n_obj=setup.n_objectives,
                         n_ieq_constr=setup.n_constraints, xl=0.0, xu=1.0)

    def _evaluate(self, x, out, *args, **kwargs) -> None:
        assert self.told is not None and np.array_equal(self.told[0], x), \
            "pymoo evaluates other genomes than the ones it was told about"
        evaluation = self.told[1]
        out["F"] = np.log10(evaluation.objectives)
        out["G"] = evaluation.constraints


class PymooSearch:
    """A pymoo `Algorithm` behind the search protocol (a `Search`).

    The algorithm is set up with a seed from (seed, generation): a resumed run is
    reproducible, but not bit-identical to an uninterrupted one, since pymoo's generator
    state is not saved.
    """

    def __init__(self, algorithm: Any, setup: SearchSetup) -> None:
        self.algorithm = algorithm
        self._problem = _ToldProblem(setup)
        self._asked: Any = None
        seed = np.random.SeedSequence([setup.seed, setup.generation]).generate_state(1)[0]
        algorithm.setup(self._problem, seed=int(seed), verbose=False)

    def ask(self) -> np.ndarray:
        pop = self.algorithm.ask()
        self._asked = pop
        # the individuals pymoo's evaluator will evaluate (it skips evaluated ones)
        values = self.algorithm.evaluator.evaluate_values_of
        todo = [i for i, ind in enumerate(pop) if not all(v in ind.evaluated for v in values)]
        return pop[todo].get("X")

    def tell(self, x: np.ndarray, evaluation: Evaluation) -> None:
        self._problem.told = (x, evaluation)
        try:
            self.algorithm.evaluator.eval(self._problem, self._asked)
        finally:
            self._problem.told = None
        self.algorithm.tell(infills=self._asked)

    @property
    def population(self) -> np.ndarray | None:
        pop = self.algorithm.pop  # None before the first generation
        return None if pop is None else pop.get("X")


def pymoo_search(name: str) -> SearchFactory:
    """The factory of `SEARCHES` entry ``name``: `PymooSearch` around `make_algorithm`."""
    def factory(setup: SearchSetup) -> PymooSearch:
        algorithm = make_algorithm(name, setup.population, setup.n_objectives, setup.initial)
        return PymooSearch(algorithm, setup)

    factory.__name__ = factory.__qualname__ = f"pymoo_search_{name}"
    return factory
