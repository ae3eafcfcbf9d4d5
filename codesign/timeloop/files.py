"""Reading Timeloop v0.4 YAML: the ``!Container``/``!Component``/``!Parallel`` tags, safely.

Only regular files up to `MAX_BYTES` are read (a FIFO or ``/dev/zero`` would hang or fill
memory), documents whose aliases expand past a million nodes are refused, and every tag
becomes a plain dict with its name under ``"!"``. Errors name the file and the key.

Two conveniences of timeloopfe's templates are understood, as the layer shapes folders of
the reference use them (``{{include_text('../problem_base.yaml')}}`` then ``problem: {<<<:
*problem_base, instance: {...}}``): ``{{include_text('FILE')}}`` is replaced by FILE's
text (relative to the including file), and a ``<<<`` key merges its mapping (or list of
mappings) in depth under the keys beside it, which win. Any other Jinja2 is refused.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import yaml

from codesign.arch.io import parse_yaml, read_text
from codesign.errors import ConfigError

__all__ = ["MAX_BYTES", "is_timeloop_arch", "load_yaml", "section"]

#: Largest Timeloop file read (the reference cases are under 40 kB; an ERT of a big
#: design a few MB).
MAX_BYTES = 16 * 1024 * 1024
_MAX_EXPANDED = 1_000_000


class _Loader(yaml.SafeLoader):
    """The safe loader, plus Timeloop's ``!Container``/``!Component``/``!Parallel`` tags
    as plain dicts."""


def _tagged(loader: _Loader, suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.MappingNode):
        data = loader.construct_mapping(node, deep=True)
        return {"!": suffix, **data}
    if isinstance(node, yaml.SequenceNode):
        return {"!": suffix, "nodes": loader.construct_sequence(node, deep=True)}
    return loader.construct_scalar(node)


_Loader.add_multi_constructor("!", _tagged)


def load_yaml(path: str | os.PathLike) -> Any:
    """Parse one Timeloop YAML file into plain data (tags as ``{"!": name, ...}``) with the
    strict reader every codesign YAML goes through (`codesign.arch.io.parse_yaml`: regular
    files only, duplicate keys and alias bombs refused), at Timeloop's sizes; includes
    expanded and ``<<<`` merged (module docstring)."""
    text = _expand(read_text(path, MAX_BYTES), Path(path))
    return _merged(parse_yaml(text, str(path), loader=_Loader, max_nodes=_MAX_EXPANDED))


_INCLUDE = re.compile(r"\{\{\s*include_text\(\s*(['\"])(.+?)\1\s*\)\s*\}\}")
_MAX_INCLUDE_DEPTH = 8


def _expand(text: str, path: Path, depth: int = 0) -> str:
    def include(match: re.Match) -> str:
        target = path.parent / match.group(2)
        if depth >= _MAX_INCLUDE_DEPTH:
            raise ConfigError(f"{path}: include_text nested more than {_MAX_INCLUDE_DEPTH} "
                              f"deep (does {match.group(2)} include itself?)")
        return _expand(read_text(target, MAX_BYTES), target, depth + 1)

    text = _INCLUDE.sub(include, text)
    if re.search(r"\{\{|\{%", text):
        raise ConfigError(f"{path}: a Jinja2 template (only {{{{include_text('FILE')}}}} is "
                          f"read); render it first, e.g. with timeloopfe")
    return text


def _deep_merge(base: Any, over: Any) -> Any:
    if not (isinstance(base, dict) and isinstance(over, dict)):
        return over
    out = dict(base)
    for key, value in over.items():
        out[key] = _deep_merge(out[key], value) if key in out else value
    return out


def _merged(data: Any) -> Any:
    """``data`` with every ``<<<`` key merged in depth (the keys beside it win)."""
    if isinstance(data, list):
        return [_merged(x) for x in data]
    if not isinstance(data, dict):
        return data
    out = {k: _merged(v) for k, v in data.items() if k != "<<<"}
    if "<<<" in data:
        bases = data["<<<"] if isinstance(data["<<<"], list) else [data["<<<"]]
        merged: Any = {}
        for base in bases:
            merged = _deep_merge(merged, _merged(base))
        out = _deep_merge(merged, out)
    return out


def section(data: Any, key: str, path: str | os.PathLike) -> Any:
    """``data[key]`` if the file wraps its content in that key (``architecture:``,
    ``problem:``, ``mapping:``, ``ERT:``), else ``data`` itself."""
    if isinstance(data, dict) and key in data:
        return data[key]
    if data is None:
        raise ConfigError(f"{path}: empty file")
    return data


def is_timeloop_arch(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a file holding a Timeloop v0.4 ``architecture: {nodes: ...}``
    (cheap: a text check, no YAML parse)."""
    import stat

    try:  # only a regular file: a FIFO would block the open, a device never end
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
        with open(path, encoding="utf-8", errors="replace") as f:
            head = f.read(1 << 16)
    except OSError:
        return False
    return "architecture:" in head and "nodes:" in head
