"""Reading Timeloop v0.4 YAML: the ``!Container``/``!Component``/``!Parallel`` tags, safely.

Only regular files up to `MAX_BYTES` are read (a FIFO or ``/dev/zero`` would hang or fill
memory), documents whose aliases expand past a million nodes are refused, and every tag
becomes a plain dict with its name under ``"!"``. Errors name the file and the key.
"""

from __future__ import annotations

import os
import reprlib
import stat
from pathlib import Path
from typing import Any

import yaml

from codesign.errors import ConfigError

__all__ = ["MAX_BYTES", "load_yaml", "short"]

#: Largest Timeloop file read (the reference cases are under 40 kB; an ERT of a big
#: design a few MB).
MAX_BYTES = 16 * 1024 * 1024
_MAX_EXPANDED = 1_000_000
_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80


def short(value: Any, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters with an ellipsis, for error messages
    (`reprlib` first, so a huge nested value is never rendered whole)."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Loader(yaml.SafeLoader):
    """SafeLoader that turns ``!Tag`` mappings into dicts and refuses documents whose
    aliases expand to more than `_MAX_EXPANDED` nodes (a "billion laughs" file)."""

    def compose_document(self):
        node = super().compose_document()
        weights: dict[int, int] = {}

        def weight(n) -> int:       # nodes after expanding aliases, memoized per node
            key = id(n)
            if key not in weights:
                weights[key] = 1
                if isinstance(n, yaml.SequenceNode):
                    weights[key] += sum(weight(c) for c in n.value)
                elif isinstance(n, yaml.MappingNode):
                    weights[key] += sum(weight(k) + weight(v) for k, v in n.value)
                if weights[key] > _MAX_EXPANDED:
                    raise yaml.YAMLError(f"aliases expand to more than {_MAX_EXPANDED} "
                                         f"nodes")
            return weights[key]

        if node is not None:
            weight(node)
        return node


def _tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        data = loader.construct_mapping(node, deep=True)
        return {"!": suffix, **data}
    if isinstance(node, yaml.SequenceNode):
        return {"!": suffix, "nodes": loader.construct_sequence(node, deep=True)}
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _tagged)


def load_yaml(path: str | os.PathLike) -> Any:
    """Parse one Timeloop YAML file into plain data (tags as ``{"!": name, ...}``)."""
    p = Path(path)
    try:
        info = p.stat()
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{p}: not a regular file")
    if info.st_size > MAX_BYTES:
        raise ConfigError(f"{p}: {info.st_size} bytes, more than the {MAX_BYTES} a Timeloop "
                          f"file may have")
    try:
        with open(p, "rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{p}: not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        return yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1})" if mark is not None else ""
        what = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{p}: not valid YAML{where}: {short(what, 120)}") from None


def section(data: Any, key: str, path: str | os.PathLike) -> Any:
    """``data[key]`` if the file wraps its content in that key (``architecture:``,
    ``problem:``, ``mapping:``, ``ERT:``), else ``data`` itself."""
    if isinstance(data, dict) and key in data:
        return data[key]
    if data is None:
        raise ConfigError(f"{path}: empty file")
    return data
