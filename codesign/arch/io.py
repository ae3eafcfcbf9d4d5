"""YAML form of accelerators and technology tables.

Pure ``parse_``/``generate_`` functions between plain data and objects, plus thin
``read_``/``write_`` wrappers that touch files (the networkx readwrite pattern). Files are
read with ``yaml.safe_load`` only. A parse checks everything and reports every problem of a
file at once, each with the file name and the key, and a did-you-mean for unknown keys.

Accelerator YAML (sizes in words of ``word_bits`` bits, bandwidths in words per cycle)::

    name: my-accel
    pe_rows: 16                 # required
    pe_cols: 16                 # required
    rf_words: 64                # required, per PE
    glb_words: 65536            # required, whole shared buffer
    dataflow: ws                # required: a preset name or {name, rows: [..], cols: [..]}
    glb_bw: 32
    dram_bw: 8
    word_bits: 16
    clock_mhz: 1000
    systolic: false
    technology: 45nm            # optional: a preset name, a YAML path (relative to this
                                #   file), or an embedded mapping of Technology fields

A technology YAML is a mapping of `Technology` fields; fields not named keep the defaults.
"""

from __future__ import annotations

import math
import os
from dataclasses import fields
from pathlib import Path
from typing import Any

from codesign.arch.accelerator import (
    DATAFLOWS,
    HW_FIELDS,
    RATE_FIELDS,
    SIZE_FIELDS,
    Accelerator,
    Dataflow,
)
from codesign.arch.technology import Technology
from codesign.atomic import atomic_write_text
from codesign.errors import (
    ArchError,
    ConfigError,
    did_you_mean,
    joined_problems,
    short_repr,
    unknown_keys,
)
from codesign.workload.layer import DIMS

__all__ = [
    "generate_accelerator",
    "generate_technology",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "load_yaml",
    "parse_accelerator",
    "parse_technology",
    "parse_yaml",
    "read_accelerator",
    "read_technology",
    "write_accelerator",
    "write_technology",
]

_REQUIRED = tuple(f.name for f in HW_FIELDS if f.required)
#: The order `generate_accelerator` writes the parameters in: the required ones first.
_WRITE_ORDER = (*_REQUIRED, *(f.name for f in HW_FIELDS if not f.required))
_ACCELERATOR_KEYS = tuple(f.name for f in fields(Accelerator))
_TECHNOLOGY_KEYS = tuple(f.name for f in fields(Technology))


# -- small checks ------------------------------------------------------------------------
def _type_name(value: Any) -> str:
    return f"{type(value).__name__} {short_repr(value)}"


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _fail(source: str, what: str, problems: list[str]) -> None:
    if problems:
        count = f"{len(problems)} problems" if len(problems) > 1 else "1 problem"
        text = joined_problems(problems)
        end = "" if text.endswith(("?", ".")) else "."
        raise ConfigError(f"{source}: {what} has {count}: {text}{end} "
                          "Fix the file and run again.")


# -- technology ----------------------------------------------------------------------------
def parse_technology(data: Any, source: str = "technology") -> Technology:
    """A `Technology` from plain data; fields not named keep their defaults.

    >>> parse_technology({"dram_pj_64b": 640.0}).dram_pj_64b
    640.0
    >>> parse_technology({"dram_pj": 1.0})
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: technology: technology table has 1 problem: unknown key \
'dram_pj'; did you mean 'dram_pj_64b'? Fix the file and run again.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of technology fields, got "
                          f"{_type_name(data)}")
    problems: list[str] = []
    known = _technology_fields(data, "", problems)
    _fail(source, "technology table", problems)
    try:
        return Technology(**known)
    except ArchError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def _technology_fields(data: dict, where: str, problems: list[str]) -> dict[str, Any]:
    """Checked `Technology` fields of ``data``; problems (prefixed by ``where``) appended."""
    problems += unknown_keys(data, _TECHNOLOGY_KEYS, where)
    known: dict[str, Any] = {}
    for key, value in data.items():
        if key not in _TECHNOLOGY_KEYS:
            continue
        if key == "name":
            if not isinstance(value, str):
                problems.append(f"{where}key 'name' must be a string, got {_type_name(value)}")
            else:
                known[key] = value
        elif not _is_number(value):
            problems.append(f"{where}key {key!r} must be a number, got {_type_name(value)}")
        elif not math.isfinite(value) or value < 0:
            problems.append(f"{where}key {key!r} must be >= 0, got {short_repr(value)}")
        else:
            known[key] = float(value)
    return known


def generate_technology(tech: Technology) -> dict:
    """Plain data for `tech`, every field (the inverse of `parse_technology`)."""
    return tech.to_dict()


def read_technology(path: str | Path) -> Technology:
    """Read a technology YAML file."""
    return parse_technology(load_yaml(path), str(path))


def write_technology(tech: Technology, path: str | Path) -> None:
    """Write `tech` to a YAML file (atomically: a reader never sees half a file)."""
    _dump_yaml(generate_technology(tech), path)


# -- accelerator ---------------------------------------------------------------------------
def _parse_dataflow(raw: Any, problems: list[str]) -> Dataflow | None:
    if isinstance(raw, str):
        if raw in DATAFLOWS:
            return DATAFLOWS[raw]
        problems.append(f"key 'dataflow': unknown preset {short_repr(raw)}"
                        f"{did_you_mean(raw, DATAFLOWS)} (presets: {', '.join(DATAFLOWS)}, "
                        "or give {name, rows, cols})")
        return None
    if not isinstance(raw, dict):
        problems.append(f"key 'dataflow' must be a preset name or a mapping {{name, rows, cols}},"
                        f" got {_type_name(raw)}")
        return None
    before = len(problems)
    problems += unknown_keys(raw, ("name", "rows", "cols"), "dataflow: ")
    axes = {}
    for axis in ("rows", "cols"):
        dims = raw.get(axis)
        if isinstance(dims, str):
            dims = list(dims.replace(",", " ").split()) if " " in dims or "," in dims \
                else list(dims)
        if not isinstance(dims, list) or not dims:
            problems.append(f"key 'dataflow.{axis}': needs a list of loop dims, got "
                            f"{_type_name(dims)}")
            continue
        bad = [d for d in dims if d not in DIMS]
        if bad:
            problems.append(f"key 'dataflow.{axis}': unknown dims {short_repr(bad)}; use "
                            f"letters from {' '.join(DIMS)}")
            continue
        axes[axis] = tuple(str(d) for d in dims)
    name = raw.get("name", "custom")
    if not isinstance(name, str):
        problems.append(f"key 'dataflow.name' must be a string, got {_type_name(name)}")
    if len(problems) > before:
        return None
    return Dataflow(name, axes["rows"], axes["cols"])


def _parse_technology_ref(raw: Any, base_dir: Path | None, source: str,
                          problems: list[str]) -> Technology | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        before = len(problems)
        known = _technology_fields(raw, "technology: ", problems)
        if len(problems) > before:
            return None
        try:
            return Technology(**known)
        except ArchError as exc:
            problems.append(f"key 'technology': {exc}")
            return None
    if isinstance(raw, str):
        from codesign.arch.presets import TECHNOLOGY_PRESETS

        if raw in TECHNOLOGY_PRESETS:
            return TECHNOLOGY_PRESETS[raw]()
        path = Path(raw)
        if not path.is_absolute() and base_dir is not None:
            path = base_dir / path
        if path.suffix.lower() not in (".yaml", ".yml") or not path.is_file():
            problems.append(f"key 'technology': {short_repr(raw)} is neither a technology preset "
                            f"({', '.join(TECHNOLOGY_PRESETS)}) nor an existing YAML file")
            return None
        try:
            return read_technology(path)
        except ConfigError as exc:
            problems.append(f"key 'technology': {exc}")
            return None
    problems.append(f"key 'technology' must be a preset name, a YAML path or a mapping, got "
                    f"{_type_name(raw)}")
    return None


def parse_accelerator(data: Any, source: str = "accelerator",
                      base_dir: str | Path | None = None) -> Accelerator:
    """An `Accelerator` from plain data (see the module docstring for the keys).

    ``base_dir`` is where a ``technology: file.yaml`` reference is looked up (the folder of
    the accelerator file); ``source`` names the input in error messages.

    >>> acc = parse_accelerator({"pe_rows": 4, "pe_cols": 4, "rf_words": 16,
    ...                          "glb_words": 1024, "dataflow": "ws"})
    >>> acc.n_pes, acc.dataflow.name
    (16, 'ws')
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of accelerator parameters "
                          f"({', '.join(_REQUIRED)}, ...), got {_type_name(data)}")
    problems: list[str] = []
    problems += unknown_keys(data, _ACCELERATOR_KEYS)
    for key in _REQUIRED:
        if key not in data:
            problems.append(f"missing key {key!r}")
    kwargs: dict[str, Any] = {}
    for key in SIZE_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if not _is_int(value):
            problems.append(f"key {key!r} must be an integer, got {_type_name(value)}")
        elif value < 1:
            problems.append(f"key {key!r} must be a positive integer, got {short_repr(value)}")
        else:
            kwargs[key] = value
    for key in RATE_FIELDS:
        if key not in data:
            continue
        value = data[key]
        if not _is_number(value):
            problems.append(f"key {key!r} must be a number, got {_type_name(value)}")
        elif not math.isfinite(value) or value <= 0:
            problems.append(f"key {key!r} must be a positive number, got {short_repr(value)}")
        else:
            kwargs[key] = float(value)
    if "systolic" in data:
        if not isinstance(data["systolic"], bool):
            problems.append(f"key 'systolic' must be true or false, got "
                            f"{_type_name(data['systolic'])}")
        else:
            kwargs["systolic"] = data["systolic"]
    if "name" in data:
        if not isinstance(data["name"], (str, int, float)) or isinstance(data["name"], bool):
            problems.append(f"key 'name' must be a string, got {_type_name(data['name'])}")
        else:
            kwargs["name"] = str(data["name"])
    if "dataflow" in data:
        dataflow = _parse_dataflow(data["dataflow"], problems)
        if dataflow is not None:
            kwargs["dataflow"] = dataflow
    if "technology" in data:
        kwargs["technology"] = _parse_technology_ref(
            data["technology"], Path(base_dir) if base_dir is not None else None, source,
            problems)
    _fail(source, "accelerator", problems)
    try:
        return Accelerator(**kwargs)
    except ArchError as exc:  # sizes past MAX_SIZES (types and signs are checked above)
        raise ConfigError(f"{source}: {exc}") from None


def generate_accelerator(acc: Accelerator) -> dict:
    """Plain data for `acc` (the inverse of `parse_accelerator`).

    The dataflow is written as its preset name when it is one, else as ``{name, rows,
    cols}``; the technology is embedded in full, or left out when it is the default (None).
    """
    data: dict[str, Any] = {"name": acc.name}
    for key in _WRITE_ORDER:
        data[key] = float(getattr(acc, key)) if key in RATE_FIELDS else getattr(acc, key)
    df = acc.dataflow
    if DATAFLOWS.get(df.name) == df:
        data["dataflow"] = df.name
    else:
        data["dataflow"] = {"name": df.name, "rows": list(df.rows), "cols": list(df.cols)}
    if acc.technology is not None:
        data["technology"] = generate_technology(acc.technology)
    return data


def read_accelerator(path: str | Path) -> Accelerator:
    """Read an accelerator YAML file; a technology path inside is relative to the file."""
    path = Path(path)
    return parse_accelerator(load_yaml(path), str(path), base_dir=path.parent)


def write_accelerator(acc: Accelerator, path: str | Path) -> None:
    """Write `acc` to a YAML file (atomically)."""
    _dump_yaml(generate_accelerator(acc), path)


# -- files ---------------------------------------------------------------------------------
#: Largest YAML file codesign reads, in bytes: specs are a few hundred bytes, and a cap
#: keeps /dev/zero, /dev/urandom or a wrong multi-gigabyte file out of memory.
MAX_YAML_BYTES = 1 << 20
#: Most values (YAML nodes) one file may hold with every alias expanded: a spec has a few
#: dozen; the cap refuses "billion laughs" files (9 anchors x 9 items expand to 9^9 values)
#: before anything walks the data.
MAX_YAML_NODES = 10_000


def load_yaml(path: str | Path, *, loader: type | None = None,
              max_bytes: int = MAX_YAML_BYTES, max_nodes: int = MAX_YAML_NODES) -> Any:
    """Plain data from a YAML file (`read_text` then `parse_yaml`); every failure is a
    one-line `ConfigError` naming the file. ``loader`` and ``max_nodes`` go to
    `parse_yaml` (Timeloop's files, with their tags and larger tables, use their own).
    """
    return parse_yaml(read_text(path, max_bytes), str(path), loader=loader,
                      max_nodes=max_nodes)


def read_text(path: str | Path, max_bytes: int = MAX_YAML_BYTES) -> str:
    """The UTF-8 text of a file, safely: only regular files are opened (a FIFO would block
    forever, a device never ends), and at most ``max_bytes`` of them read; every failure
    is a one-line `ConfigError` naming the file."""
    import stat

    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"{path}: cannot read: no such file; check the path") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); check the path and its "
                          "permissions") from None
    if stat.S_ISDIR(info.st_mode):
        raise ConfigError(f"{path}: is a folder, expected a YAML file")
    if not stat.S_ISREG(info.st_mode):
        raise ConfigError(f"{path}: not a regular file (a FIFO, device or socket); pass a "
                          "YAML file")
    try:
        # O_NONBLOCK: should the path become a FIFO after the check, opening it cannot hang
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as file:
            if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
                raise ConfigError(f"{path}: not a regular file (a FIFO, device or socket); "
                                  "pass a YAML file")
            data = file.read(max_bytes + 1)
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read ({exc.strerror}); check its permissions"
                          ) from None
    if len(data) > max_bytes:
        raise ConfigError(f"{path}: larger than {max_bytes} bytes, too big for a codesign "
                          "input of its kind; check that it is the right file")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not a text file; expected YAML") from None
    return text


def parse_yaml(text: str, source: str = "<yaml>", *, loader: type | None = None,
               max_nodes: int = MAX_YAML_NODES) -> Any:
    r"""Plain data from YAML text, strictly: the safe loader only (no tag builds a Python
    object; ``loader`` may be a `yaml.SafeLoader` subclass that maps more tags to plain
    data), and `ConfigError` (one line, naming ``source``) for a text with no content
    (empty, only comments or ``null``), duplicate keys in a mapping (all of them listed),
    aliases that expand to more than ``max_nodes`` values or into themselves, and
    anything PyYAML cannot parse.

    >>> parse_yaml("pe_rows: 4\npe_cols: [8, 16]")
    {'pe_rows': 4, 'pe_cols': [8, 16]}
    >>> parse_yaml("pe_rows: 4\npe_rows: 8", "space.yaml")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    codesign.errors.ConfigError: space.yaml: duplicate key 'pe_rows' at line 2 (first at ...
    """
    import yaml

    if loader is None:
        loader = yaml.SafeLoader
    if not issubclass(loader, yaml.SafeLoader):
        raise TypeError("parse_yaml takes yaml.SafeLoader subclasses only")
    cls, loader = loader, None
    try:
        loader = cls(text)  # the reader refuses control characters at once
        node = loader.get_single_node()
        if node is None or (isinstance(node, yaml.ScalarNode)
                            and node.tag == "tag:yaml.org,2002:null"):
            raise ConfigError(f"{source}: is empty (no YAML content: only blank lines, "
                              "comments or null); write the spec into it, or leave the option "
                              "out for the default")
        _check_nodes(node, loader, source, max_nodes)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "cannot be parsed"
        raise ConfigError(f"{source}: not valid YAML{where}: {problem}") from None
    except RecursionError:  # PyYAML composes nested collections recursively
        raise ConfigError(f"{source}: YAML nested too deeply to be a codesign spec") from None
    except ValueError as exc:  # int() of a number past Python's 4300-digit limit
        raise ConfigError(f"{source}: a value cannot be read ({short_repr(str(exc))}); "
                          "numbers in a spec need far fewer digits") from None
    finally:
        if loader is not None:
            loader.dispose()


def _check_nodes(root: Any, loader: Any, source: str, max_nodes: int = MAX_YAML_NODES
                 ) -> None:
    """Refuse alias expansions past ``max_nodes``, recursive aliases and duplicate keys.

    Walks each distinct node once (an alias shares its anchor's node): ``size`` is a node's
    value count with every alias expanded, so a bomb is measured without expanding it.
    """
    import yaml

    merge = "tag:yaml.org,2002:merge"

    def children(node: Any) -> list:
        if isinstance(node, yaml.SequenceNode):
            return list(node.value)
        if isinstance(node, yaml.MappingNode):
            return [n for pair in node.value for n in pair]
        return []

    size: dict[int, int] = {}
    on_path: set[int] = set()
    duplicates: list[str] = []
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children(node))
            continue
        if key in size:
            continue
        if key in on_path:
            line = node.start_mark.line + 1
            raise ConfigError(f"{source}: an alias at line {line} refers to a value that "
                              "contains it (a recursive alias); write the values out instead")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children(node) if id(c) not in size)
        if isinstance(node, yaml.MappingNode):
            _duplicate_keys(node, loader, merge, duplicates)
    total = size[id(root)]
    if total > max_nodes:
        how = (f"its aliases expand to {total} values" if total > len(size)
               else f"it holds {total} values")
        raise ConfigError(f"{source}: {how}, more than the {max_nodes} a codesign input of "
                          "its kind may hold; write out only the values you need, with fewer "
                          "aliases")
    if duplicates:
        raise ConfigError(f"{source}: {joined_problems(duplicates)}; keep one of them")


def _duplicate_keys(node: Any, loader: Any, merge: str, problems: list[str]) -> None:
    """Append a problem for each key of mapping ``node`` that repeats an earlier one
    (merge keys ``<<`` are meant to be overridden, so they do not count)."""
    import yaml

    first: dict[Any, int] = {}
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == merge:
            continue
        key = loader.construct_object(key_node)
        line = key_node.start_mark.line + 1
        try:
            seen = first.get(key)
        except TypeError:  # unhashable: PyYAML reports it when constructing
            continue
        if seen is None:
            first[key] = line
        else:
            problems.append(f"duplicate key {short_repr(key)} at line {line} (first at line "
                            f"{seen})")


def _dump_yaml(data: dict, path: str | Path) -> None:
    import yaml

    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, default_flow_style=False))
