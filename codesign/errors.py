"""The exceptions codesign raises on purpose.

Every error a user can cause by what they hand in derives from :class:`CodesignError`,
so callers (and ``cli.py``, the only error boundary) can catch one class::

    CodesignError
    ├── WorkloadError     the model file: missing, not ONNX, corrupt, no MAC op, symbolic dims
    ├── ArchError         an accelerator, technology table or design space that makes no sense
    ├── MappingError      a mapping that does not cover the layer, fit the array or the buffers
    ├── ConfigError       options and YAML/JSON specs: wrong types, unknown keys, bad values
    └── RunError          an exploration that cannot start or go on (output folder, resume)

Anything else escaping the library is a bug and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "MAX_LISTED_PROBLEMS",
    "MAX_VALUE_CHARS",
    "ArchError",
    "CodesignError",
    "ConfigError",
    "MappingError",
    "RunError",
    "WorkloadError",
    "did_you_mean",
    "joined_problems",
    "short_repr",
    "unknown_keys",
]

#: Characters of an offending value that an error message quotes at most.
MAX_VALUE_CHARS = 60
#: Problems one error message lists at most (the rest are counted).
MAX_LISTED_PROBLEMS = 20


class CodesignError(Exception):
    """Base class: the user can fix this by changing what they handed in."""


class WorkloadError(CodesignError):
    """The model cannot be imported as a workload."""


class ArchError(CodesignError):
    """An accelerator, technology table or design space is invalid."""


class MappingError(CodesignError):
    """A mapping is invalid for its layer or accelerator."""


class ConfigError(CodesignError):
    """An option value or a configuration file is invalid."""


class RunError(CodesignError):
    """An exploration run cannot start, resume or write its results."""


def short_repr(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters with an ellipsis, for error messages.

    The work is bounded too: containers are shown a few items and levels deep
    (`reprlib`), so a value of any size (a YAML alias bomb expands to billions of items)
    costs microseconds and never puts megabytes into a message.

    >>> short_repr("x" * 100, limit=12)
    "'xxxxxxxxxx…"
    >>> short_repr([1, 2])
    '[1, 2]'
    >>> short_repr(16 ** 5000)
    '<int of 20001 bits>'
    """
    import reprlib

    class _Shower(reprlib.Repr):
        def repr_int(self, x: int, level: int) -> str:  # past 4300 digits repr() raises
            return super().repr_int(x, level) if x.bit_length() < 4096 else \
                f"<int of {x.bit_length()} bits>"

    shower = _Shower()
    shower.maxlevel, shower.maxlist, shower.maxtuple, shower.maxdict = 3, 6, 6, 6
    shower.maxset = shower.maxfrozenset = shower.maxdeque = shower.maxarray = 6
    shower.maxstring = shower.maxother = shower.maxlong = 4 * limit + 8
    text = shower.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def joined_problems(problems: list[str], limit: int = MAX_LISTED_PROBLEMS) -> str:
    """The problems of one input as one line: ``"a; b; c"``, the first ``limit`` of them
    and a count of the rest, so that a file with thousands of bad keys still gives a
    readable message.

    >>> joined_problems(["a", "b", "c"], limit=2)
    'a; b; and 1 more problem'
    """
    shown = "; ".join(problems[:limit])
    rest = len(problems) - limit
    if rest > 0:
        shown += f"; and {rest} more problem{'s' if rest > 1 else ''}"
    return shown


def did_you_mean(word: object, options: Iterable[str]) -> str:
    """The one did-you-mean hint of every error message: ``"; did you mean 'x'?"`` for the
    closest of ``options``, or ``""`` when none is close (or ``word`` is no short string).
    Callers that list the valid names add the list themselves.

    >>> did_you_mean("pe_row", ("pe_rows", "pe_cols"))
    "; did you mean 'pe_rows'?"
    >>> did_you_mean("zzzz", ("pe_rows", "pe_cols")), did_you_mean(3, ("pe_rows",))
    ('', '')
    """
    import difflib

    if not isinstance(word, str) or len(word) >= 100:  # difflib is quadratic in the length
        return ""
    close = difflib.get_close_matches(word, list(options), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def unknown_keys(data: Iterable[object], valid: Sequence[str], where: str = "") -> list[str]:
    """The one unknown-key message of every reader (YAML, JSON, run records), one per key of
    ``data`` not in ``valid``: the did-you-mean hint when a valid key is close, and the
    valid keys once (on the first key without a close match), so a user never has to open
    the docs to fix a typo and a thousand bad keys do not repeat the list a thousand times.
    ``where`` prefixes each message (``"nodes[0]: "``).

    >>> unknown_keys({"pe_row": 1, "pe_cols": 2}, ("pe_rows", "pe_cols"))
    ["unknown key 'pe_row'; did you mean 'pe_rows'?"]
    >>> unknown_keys(["zzzz", "yyyy"], ("a", "b"), "space: ")
    ["space: unknown key 'zzzz'; valid keys: a, b", "space: unknown key 'yyyy'"]
    """
    messages, listed = [], False
    for key in data:
        if key in valid:
            continue
        hint = did_you_mean(key, valid)
        if not hint and not listed:
            hint, listed = f"; valid keys: {', '.join(valid)}", True
        messages.append(f"{where}unknown key {short_repr(key)}{hint}")
    return messages
