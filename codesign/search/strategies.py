"""Search strategies side by side: which genome the algorithm sees and who picks mappings.

A strategy is an evaluator configuration, not a search: it fixes the genome layout the
search sees (`BatchEvaluator` ``mode``), the mapper effort inside each generation, whether
the mapping memory warm-starts the mapper, and how the front is mapped again after the
loop (a separate evaluator, `BatchEvaluator.with_mapper`). Which genomes are proposed is
the search's business (`codesign.search.searches`, ``--algorithm``), so every strategy runs
with every search. The one exception is ``random``, a baseline that fixes the search as
well (``use_algorithm=False``: the `random` search whatever ``--algorithm`` says,
`search_name`).

- ``joint``: one pymoo loop over hardware *and* per-layer mapping genes (`mode` ``joint``).
- ``nested`` (the default): pymoo over hardware genes; every generation the batched mapper
  maps the whole population at once with a modest effort (`mode` ``nested``), starting
  from the best mappings known for the nearest design evaluated before
  (`codesign.search.memory`), so mapper effort accumulates over generations at no extra
  evaluations; at the end the front's designs are mapped again with a strong effort
  (`FRONT_REMAP`), starting from the best mappings found for them.
- ``nested-cold``: ``nested`` without the mapping memory (every design mapped from scratch
  each generation), kept to measure what the memory brings.
- ``sequential``: hardware first, each design costed with a fixed mapping heuristic (per layer
  the best of the mapper's classic seed mappings, no mapping search), then the final front
  is mapped with the same strong effort as ``nested`` (`FRONT_REMAP`).
- ``random``: uniform random joint genomes, the same number of evaluations.

``nested-warm``, the name ``nested`` with the memory had before it became the default,
still names it (run folders that recorded it resume).
"""

from __future__ import annotations

from dataclasses import dataclass

from codesign.errors import ConfigError
from codesign.search.config import DEFAULT_STRATEGY, STRATEGY_ALIASES
from codesign.search.problem import MapperEffort
from codesign.search.searches import SEARCHES

__all__ = ["ALGORITHMS", "ALIASES", "DEFAULT_STRATEGY", "STRATEGIES", "Strategy",
           "search_name", "strategy"]


@dataclass(frozen=True)
class Strategy:
    """How a run explores.

    ``mode``: the `BatchEvaluator` genome layout of the main loop; ``use_algorithm``: the
    run's search proposes the genomes (else the ``random`` search does); ``effort``: mapper
    effort in the loop (``None``: the run's); ``remap``: mapper effort for the final front
    after the loop (``None``: keep the loop's mappings); ``warm_start``: the nested mapper
    also starts from the best mappings known for the nearest design seen before
    (`codesign.search.memory`).
    """

    name: str
    mode: str
    use_algorithm: bool = True
    effort: MapperEffort | None = None
    remap: MapperEffort | None = None
    warm_start: bool = False


#: The sequential strategy's hardware phase: the mapper's 5 classic seeds, no search steps.
HEURISTIC_MAPPING = MapperEffort(n_candidates=5, n_steps=0)
#: Mapper effort of the final mapping of the front (nested and sequential), per design:
#: 32 x 17 + 1 = 545 evaluations. At 40k evaluations on ResNet-50 (seeds 0, 1; nested 8 x 2
#: inside) it gave hypervolume 1.13 / 1.15 against 1.09 / 1.07 with (16, 8), same bounds.
FRONT_REMAP = MapperEffort(n_candidates=32, n_steps=16)

STRATEGIES: dict[str, Strategy] = {
    "joint": Strategy("joint", "joint"),
    "nested": Strategy("nested", "nested", remap=FRONT_REMAP, warm_start=True),
    "nested-cold": Strategy("nested-cold", "nested", remap=FRONT_REMAP),
    "sequential": Strategy("sequential", "nested", effort=HEURISTIC_MAPPING,
                           remap=FRONT_REMAP),
    "random": Strategy("random", "joint", use_algorithm=False),
}
#: Former names still accepted, and the default strategy: defined (and explained) in the
#: torch-free `codesign.search.config`, which the CLI reads.
ALIASES = STRATEGY_ALIASES

#: The built-in searches a run may use (`codesign.search.searches.SEARCHES` is the live
#: registry, which library code may extend).
ALGORITHMS: tuple[str, ...] = tuple(SEARCHES)


def strategy(name: str) -> Strategy:
    """The `Strategy` called ``name``; `ConfigError` naming the choices otherwise."""
    try:
        return STRATEGIES[ALIASES.get(name, name)]
    except KeyError:
        raise ConfigError(f"unknown strategy {name!r}; choose one of "
                          f"{', '.join(STRATEGIES)}") from None


def search_name(strategy: Strategy, algorithm: str) -> str:
    """The search a run of ``strategy`` uses when ``algorithm`` is asked for.

    >>> search_name(STRATEGIES["random"], "nsga2"), search_name(STRATEGIES["joint"], "nsga3")
    ('random', 'nsga3')
    """
    return algorithm if strategy.use_algorithm else "random"
