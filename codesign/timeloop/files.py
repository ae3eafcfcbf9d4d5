"""Reading Timeloop v0.4 YAML: the ``!Container``/``!Component``/``!Parallel`` tags, safely.

Only regular files up to `MAX_BYTES` are read (a FIFO or ``/dev/zero`` would hang or fill
memory), documents whose aliases expand past a million nodes are refused, and every tag
becomes a plain dict with its name under ``"!"``. Errors name the file and the key.
"""

from __future__ import annotations

import os
from typing import Any

import yaml

from codesign.arch.io import load_yaml as _strict_load
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
    strict reader every codesign YAML goes through (`codesign.arch.io.load_yaml`: regular
    files only, duplicate keys and alias bombs refused), at Timeloop's sizes."""
    return _strict_load(path, loader=_Loader, max_bytes=MAX_BYTES, max_nodes=_MAX_EXPANDED)


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
