"""When a search stops: small termination objects, combined with any-of semantics.

Before every generation the run loop hands a `Progress` snapshot to its termination; an
empty reason goes on, any other ends the search, and that reason is what ``run.json``
(``stop_reason``) and the checkpoint record. The reasons the budget's limits give are
``generations``, ``max_evals`` and ``time_limit`` (the run loop adds ``interrupted`` for
Ctrl-C); `Stagnation` gives ``stagnation``.

- `Generations`: ``n`` generations are done.
- `Evaluations`: the next generation, plus evaluations held back for later (the final
  remap), would pass ``max_evals``.
- `TimeLimit`: the next generation, taking about as long as the last, would end past
  ``share`` of the limit (the rest is left to the final remap).
- `Stagnation`: the archive's hypervolume has not improved for ``n`` generations.
- `AnyOf`: the first of several that stops; ``a | b`` builds one.

Evaluation and time limits never stop the first generation, so a run never ends empty.

>>> stop = Generations(3) | Stagnation(2)
>>> stop.reason(Progress(generation=2, hypervolumes=(0.5, 0.6)))
''
>>> stop.reason(Progress(generation=3, hypervolumes=(0.5, 0.6, 0.6)))
'generations'
>>> (Stagnation(2) | Generations(9)).reason(Progress(generation=3, hypervolumes=(0.5, 0.6, 0.6)))
''
>>> Stagnation(2).reason(Progress(generation=4, hypervolumes=(0.5, 0.6, 0.6, 0.6)))
'stagnation'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from codesign.errors import ConfigError

__all__ = ["AnyOf", "Evaluations", "Generations", "Progress", "Stagnation", "Termination",
           "TimeLimit"]


@dataclass(frozen=True)
class Progress:
    """Where a run stands before its next generation.

    ``generation``: generations done (a resumed run counts its earlier ones);
    ``n_evals``: design evaluations spent; ``elapsed_s``: run time so far, earlier sessions
    included; ``next_evals``: evaluations the next generation spends at most; ``next_s``:
    seconds it is expected to take (the last generation's); ``hypervolumes``: the archive's
    hypervolume after each search generation so far, oldest first.
    """

    generation: int = 0
    n_evals: int = 0
    elapsed_s: float = 0.0
    next_evals: int = 0
    next_s: float = 0.0
    hypervolumes: Sequence[float] = ()


@runtime_checkable
class Termination(Protocol):
    """Says why the search stops now, or ``""`` to go on."""

    def reason(self, progress: Progress) -> str:
        ...


class _Combinable:
    """``a | b``: stop at whichever of ``a``, ``b`` stops first."""

    def __or__(self, other: Termination) -> AnyOf:
        return AnyOf(self, other)


@dataclass(frozen=True)
class Generations(_Combinable):
    """Stop once ``n`` generations are done."""

    n: int

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"generations must be >= 1, got {self.n}")

    def reason(self, progress: Progress) -> str:
        return "generations" if progress.generation >= self.n else ""


@dataclass(frozen=True)
class Evaluations(_Combinable):
    """Stop before a generation that, with ``reserve`` evaluations kept for later (the final
    remap), would spend more than ``max_evals``."""

    max_evals: int
    reserve: int = 0

    def __post_init__(self) -> None:
        if self.max_evals < 1:
            raise ConfigError(f"max evals must be >= 1, got {self.max_evals}")

    def reason(self, progress: Progress) -> str:
        over = progress.n_evals + progress.next_evals + self.reserve > self.max_evals
        return "max_evals" if progress.generation > 0 and over else ""


@dataclass(frozen=True)
class TimeLimit(_Combinable):
    """Stop before a generation that would end past ``share`` of ``seconds`` (the rest is
    the final remap's)."""

    seconds: float
    share: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.seconds < float("inf"):
            raise ConfigError(f"time limit must be a finite number of seconds > 0, got "
                              f"{self.seconds}")
        if not 0 < self.share <= 1:
            raise ConfigError(f"time share must be in (0, 1], got {self.share}")

    def reason(self, progress: Progress) -> str:
        late = progress.elapsed_s + progress.next_s >= self.seconds * self.share
        return "time_limit" if progress.generation > 0 and late else ""


@dataclass(frozen=True)
class Stagnation(_Combinable):
    """Stop when the hypervolume has not grown by more than ``tol`` over the last ``n``
    generations (the archive's hypervolume never drops, so this is a plateau)."""

    n: int
    tol: float = 0.0

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ConfigError(f"stagnation needs n >= 1 generations, got {self.n}")
        if not self.tol >= 0:
            raise ConfigError(f"stagnation tolerance must be >= 0, got {self.tol}")

    def reason(self, progress: Progress) -> str:
        hv = progress.hypervolumes
        if len(hv) <= self.n:
            return ""
        return "stagnation" if max(hv[-self.n:]) <= hv[-self.n - 1] + self.tol else ""


@dataclass(frozen=True, init=False)
class AnyOf(_Combinable):
    """Stop at the first of ``terms`` that stops (in order: its reason is the run's)."""

    terms: tuple[Termination, ...]

    def __init__(self, *terms: Termination) -> None:
        flat: list[Termination] = []
        for term in terms:
            flat.extend(term.terms if isinstance(term, AnyOf) else (term,))
        if not flat:
            raise ConfigError("AnyOf needs at least one termination")
        object.__setattr__(self, "terms", tuple(flat))

    def reason(self, progress: Progress) -> str:
        for term in self.terms:
            if why := term.reason(progress):
                return why
        return ""
