"""Size options against the memory of the machine: refuse a run that cannot fit, before it
starts, instead of dying in pymoo or the out-of-memory killer an hour in.

The chunked evaluator (`codesign.cost.chunked`) bounds what one cost call allocates by
slicing the population, but three things cannot be sliced:

- pymoo's own arrays: duplicate elimination takes the distances between every pair of
  designs (``population x 2 population`` float64, 7.28 TiB for a population of a million),
  and non-dominated sorting compares every pair too; the genomes are held several times;
- what the run keeps per evaluated design (its mapping factors and loop orders);
- the nested mapper's batch for a single design: ``candidates x layers`` mappings, which a
  chunk of one design cannot make smaller.

`check_explore_fits` and `check_mapper_fits` estimate these from the batch shapes and
raise a one-line `ConfigError` naming the option, the estimate, the memory there is and
the largest value that fits. The budget is half of `available_memory_bytes` (the other
half is left to the cost model's chunks, torch and the rest of the process).
"""

from __future__ import annotations

import math

from codesign.errors import ConfigError

__all__ = [
    "EVALUATION_BYTES_PER_DESIGN_LAYER",
    "PYMOO_BYTES_PER_GENE",
    "PYMOO_BYTES_PER_PAIR",
    "check_explore_fits",
    "check_mapper_fits",
    "format_bytes",
    "memory_budget_bytes",
    "search_bytes",
]

#: pymoo's peak bytes per pair of designs in a generation (duplicate elimination's float64
#: distances of the offspring to the population and to each other, non-dominated sorting's
#: comparisons): measured 18-25 B x population^2 as peak-RSS growth of NSGA-II with
#: populations of 1000-4000 (6 genes, 3 objectives); rounded up.
PYMOO_BYTES_PER_PAIR = 32
#: pymoo's peak bytes per (design, gene): population, offspring and mating copies of the
#: genomes; measured ~90 B for a population of 1000 x 2000 genes; rounded up.
PYMOO_BYTES_PER_GENE = 128
#: Bytes the run keeps per (design, layer) of a generation: mapping factors ``[L, 5, 8]``
#: and orders ``[L, 3, 8]`` int64 (512 B), for the population and its offspring.
EVALUATION_BYTES_PER_DESIGN_LAYER = 1024
_SHARE = 2


def memory_budget_bytes(device: str | None = None) -> int:
    """Half of what this process can still allocate on ``device`` (default: the CPU)."""
    from codesign.cost.chunked import available_memory_bytes

    return available_memory_bytes(device) // _SHARE


def format_bytes(n_bytes: float) -> str:
    """``1536`` -> ``'1.5 KiB'``: binary units, three significant digits.

    >>> format_bytes(7.28 * 2**40), format_bytes(512)
    ('7.28 TiB', '512 B')
    """
    for unit, size in (("PiB", 2**50), ("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20),
                       ("KiB", 2**10)):
        if n_bytes >= size:
            return f"{n_bytes / size:.3g} {unit}"
    return f"{int(n_bytes)} B"


def search_bytes(population: int, n_var: int, n_layers: int, pairwise: bool = True) -> int:
    """Estimated peak bytes of one generation outside the cost model: pymoo's pairwise
    arrays (when ``pairwise``: an algorithm, not random sampling), its genome copies and the
    evaluations the run keeps.

    >>> search_bytes(10**6, 6, 20) > 7 * 2**40  # pymoo's 7.28 TiB duplicate elimination
    True
    """
    per_design = PYMOO_BYTES_PER_GENE * n_var + EVALUATION_BYTES_PER_DESIGN_LAYER * n_layers
    pairs = PYMOO_BYTES_PER_PAIR * population * population if pairwise else 0
    return pairs + per_design * population


def _largest_population(n_var: int, n_layers: int, pairwise: bool, budget: int) -> int:
    """The largest population whose `search_bytes` stays within ``budget``."""
    a = PYMOO_BYTES_PER_PAIR if pairwise else 0
    b = PYMOO_BYTES_PER_GENE * n_var + EVALUATION_BYTES_PER_DESIGN_LAYER * n_layers
    if a == 0:
        return budget // b
    guess = int((-b + math.sqrt(b * b + 4 * a * budget)) / (2 * a))
    while guess > 0 and search_bytes(guess, n_var, n_layers, pairwise) > budget:
        guess -= 1
    return guess


def check_explore_fits(*, population: int, n_var: int, n_layers: int, pairwise: bool,
                       mapper_candidates: int | None, device: str = "cpu",
                       budget_bytes: int | None = None,
                       device_budget_bytes: int | None = None) -> None:
    """Raise `ConfigError` when a run of this size cannot fit in memory.

    ``mapper_candidates``: the most candidates the nested mapper draws per design and layer
    (``None`` without a mapper); ``budget_bytes`` / ``device_budget_bytes``: the bytes the
    search may use on the CPU and on ``device`` (default: `memory_budget_bytes`).
    """
    budget = memory_budget_bytes("cpu") if budget_bytes is None else int(budget_bytes)
    need = search_bytes(population, n_var, n_layers, pairwise)
    if need > budget:
        largest = _largest_population(n_var, n_layers, pairwise, budget)
        why = ("pymoo compares every pair of designs" if pairwise
               else f"{n_var} genes and {n_layers} layers' mappings per design")
        advice = (f"use --population {largest} or less" if largest >= 2 else
                  "free memory or use a smaller model")
        raise ConfigError(f"--population {population}: a generation needs about "
                          f"{format_bytes(need)} ({why}), more than the {format_bytes(budget)} "
                          f"this machine can give; {advice}")
    if mapper_candidates is not None:
        check_mapper_fits(mapper_candidates, n_layers, device=device,
                          budget_bytes=device_budget_bytes)


def check_mapper_fits(n_candidates: int, n_layers: int, *, device: str = "cpu",
                      budget_bytes: int | None = None, option: str | None = None,
                      advice: str | None = None) -> None:
    """Raise `ConfigError` when the batched mapper cannot map even one design: its batch of
    ``n_candidates x n_layers`` mappings is more than the memory on ``device``.

    ``option`` names the setting in the message (default ``--mapper-candidates N``) and
    ``advice`` says what to do (default: the largest ``--mapper-candidates`` that fits).

    >>> check_mapper_fits(10**9, 20, budget_bytes=2**34)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: --mapper-candidates 1000000000: the mapper needs about \
149 TiB for one design (1000000000 candidates x 20 layers x 8 KiB), more than the 16 GiB \
...; use --mapper-candidates 104857 or less
    """
    from codesign.cost.chunked import MAPPER_BYTES_PER_CANDIDATE_LAYER

    budget = memory_budget_bytes(device) if budget_bytes is None else int(budget_bytes)
    per_candidate = max(n_layers, 1) * MAPPER_BYTES_PER_CANDIDATE_LAYER
    need = n_candidates * per_candidate
    if need <= budget:
        return
    option = option or f"--mapper-candidates {n_candidates}"
    advice = advice or f"use --mapper-candidates {budget // per_candidate} or less"
    raise ConfigError(
        f"{option}: the mapper needs about {format_bytes(need)} for one design "
        f"({n_candidates} candidates x {n_layers} layers x "
        f"{format_bytes(MAPPER_BYTES_PER_CANDIDATE_LAYER)}), more than the "
        f"{format_bytes(budget)} this machine can give on {device}; {advice}")
