"""The searches a run can use, by name (``explore(algorithm=...)``, ``--algorithm``).

`SEARCHES` maps a name to a factory ``(SearchSetup) -> Search`` (`codesign.search.protocol`).
The built-in entries are pymoo's algorithms (`codesign.search.evolutionary`) and uniform
random genomes (`codesign.search.random_search`). A new search is one module plus one
entry here; library code may also add an entry at run time (``SEARCHES["mine"] =
factory``) and pass ``algorithm="mine"`` to `explore`. The CLI offers the built-in names.
"""

from __future__ import annotations

from codesign.errors import ConfigError
from codesign.search.evolutionary import pymoo_search
from codesign.search.protocol import Search, SearchFactory, SearchSetup
from codesign.search.random_search import RandomSearch

__all__ = ["SEARCHES", "check_search", "make_search"]

SEARCHES: dict[str, SearchFactory] = {
    "nsga2": pymoo_search("nsga2"),
    "nsga3": pymoo_search("nsga3"),
    "agemoea2": pymoo_search("agemoea2"),
    "smsemoa": pymoo_search("smsemoa"),
    "random": RandomSearch,
}


def make_search(name: str, setup: SearchSetup) -> Search:
    """The search called ``name``, built for ``setup``; `ConfigError` naming the choices
    for an unknown name (and whatever a factory refuses, such as a missing dependency)."""
    try:
        factory = SEARCHES[name]
    except KeyError:
        raise ConfigError(f"unknown algorithm {name!r}; choose one of "
                          f"{', '.join(SEARCHES)}") from None
    return factory(setup)


def check_search(name: str, n_objectives: int, population: int) -> None:
    """Build the search ``name`` for a one-gene problem and drop it, so that an unknown name
    or a missing dependency (agemoea2's numba) fails before a run folder is touched."""
    make_search(name, SearchSetup(n_var=1, n_objectives=n_objectives, n_constraints=1,
                                  population=population))
