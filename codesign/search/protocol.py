"""The search protocol: what the run loop asks of a search, in the spirit of pymoo's ask/tell.

A search proposes genomes and learns what they cost; it never sees the cost model, the
mapper or the run folder:

1. a factory gets a `SearchSetup` (genome length, objective and constraint counts,
   population size, seed, where a resumed run stands) and returns a `Search`;
2. every generation the run loop calls `Search.ask` for a ``[P, V]`` batch of genes in
   ``[0, 1]``, costs the whole batch in one `BatchEvaluator` call and hands the
   `Evaluation` (plain objectives ``[P, O]``, constraints ``[P, C]`` in pymoo form, ``<= 0``
   feasible, feasibility ``[P]``) back through `Search.tell`;
3. `Search.population` reports the genomes the search would go on from: the checkpoint
   saves them and a resumed run passes them back as `SearchSetup.initial`.

The archive (every feasible non-dominated design ever told, with its mappings) is kept by
the run loop from the told evaluations, so the front a run reports is the same whatever the
search; a search only keeps what it needs to propose the next batch. Termination is not
the search's business either (`codesign.search.termination`).

A new search is one module with a class that has these three members and a factory
``(SearchSetup) -> Search``, plus one entry in `codesign.search.searches.SEARCHES`
(docs/API.md, "Adding a search").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    from codesign.search.problem import Evaluation

__all__ = ["Search", "SearchFactory", "SearchSetup"]


@dataclass(frozen=True)
class SearchSetup:
    """What a search is built for.

    ``n_var``: genes per genome (the evaluator's `n_var`); ``n_objectives``,
    ``n_constraints``: columns of the told objectives and constraints; ``population``:
    genomes per generation; ``seed``: the run's seed; ``generation``: generations already
    done (0 for a new run, more for a resumed one: a search seeds from ``(seed,
    generation)`` so a resumed run is reproducible); ``initial``: ``[P, V]`` genomes to go on
    from (the `Search.population` a checkpoint saved), ``None`` for a new run.
    """

    n_var: int
    n_objectives: int
    n_constraints: int
    population: int
    seed: int = 0
    generation: int = 0
    initial: np.ndarray | None = None


@runtime_checkable
class Search(Protocol):
    """Proposes genomes, learns their costs, reports what a checkpoint keeps."""

    def ask(self) -> np.ndarray:
        """The next batch to cost: ``[P, V]`` float64 genes in ``[0, 1]``."""
        ...

    def tell(self, x: np.ndarray, evaluation: Evaluation) -> None:
        """What the batch ``x`` of the last `ask` costs (rows in the same order)."""
        ...

    @property
    def population(self) -> np.ndarray | None:
        """``[P, V]`` genomes a resumed run goes on from; ``None``: nothing to keep."""
        ...


#: Builds a search for a run (`codesign.search.searches.SEARCHES` maps names to these).
SearchFactory = Callable[[SearchSetup], Search]
