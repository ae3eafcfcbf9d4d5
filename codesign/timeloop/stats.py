"""Reading Timeloop's ``timeloop-model.stats.txt`` / ``timeloop-mapper.stats.txt``.

Returns the figures ``codesign evaluate --json`` prints, in the same shape, so a run of
Timeloop and one of ours compare key by key: per level and data space, scalar reads, fills
and updates summed over utilized instances (the file prints them per instance).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from codesign.errors import ConfigError

__all__ = ["parse_stats", "read_stats"]

_LEVEL = re.compile(r"^=== (.+) ===$")
_KV = re.compile(r"^\s*([A-Za-z][^:]*?)\s*:\s*(.+?)\s*$")
_SPACE = re.compile(r"^    ([A-Za-z_][A-Za-z_0-9]*):\s*$")


def _num(text: str) -> float:
    return float(text.split()[0])


def parse_stats(text: str, where: str = "stats") -> dict:
    """``{"cycles", "energy_pj", "computes", "levels": {L: {DS: {reads, fills, updates,
    utilized_instances}}}, "level_cycles": {L: int}, "energy_by_level_pj": {L: float}}``."""
    levels: dict[str, dict[str, dict[str, int]]] = {}
    level_cycles: dict[str, int] = {}
    energy_fj: dict[str, float] = {}
    summary: dict[str, str] = {}
    current = space = None
    part = "levels"
    for line in text.splitlines():
        if line.startswith("Networks"):
            part = "networks"
        elif line.startswith("Summary Stats"):
            part = "summary"
        if part == "summary":
            m = _KV.match(line) or re.match(r"^(Computes)\s*=\s*(\d+)", line)
            if m:
                summary[m.group(1).strip()] = m.group(2)
            m = re.match(r"^\s{4}(\S+)\s+=\s+([0-9.eE+-]+)\s*$", line)
            if m:
                energy_fj[m.group(1)] = float(m.group(2))
            continue
        if part != "levels":
            continue
        m = _LEVEL.match(line)
        if m:
            current, space = m.group(1), None
            continue
        if current is None:
            continue
        m = _SPACE.match(line)
        if m and m.group(1) not in ("SPECS", "STATS", "MAPPING"):
            space = m.group(1)
            levels.setdefault(current, {})[space] = {}
            continue
        m = _KV.match(line)
        if not m:
            continue
        key, value = m.group(1).strip(), m.group(2)
        if key == "Cycles" and space is None:
            level_cycles[current] = int(_num(value))
        if space is None:
            continue
        rec = levels[current][space]
        for name, field in (("Scalar reads (per-instance)", "reads"),
                            ("Scalar fills (per-instance)", "fills"),
                            ("Scalar updates (per-instance)", "updates"),
                            ("Utilized instances (max)", "utilized_instances"),
                            ("Utilized capacity", "utilized_capacity")):
            if key == name:
                rec[field] = int(_num(value))
        if key == "Energy (total)":
            rec["energy_pj"] = _num(value)
    if "Cycles" not in summary:
        raise ConfigError(f"{where}: no 'Summary Stats' section with Cycles")
    for per_level in levels.values():
        for rec in per_level.values():
            n = rec.get("utilized_instances", 1)
            for field in ("reads", "fills", "updates"):
                rec[field] = rec.get(field, 0) * n
    computes = int(_num(summary.get("Computes", "0")))
    energy = {k: v * computes / 1000.0 for k, v in energy_fj.items()}
    total = energy.pop("Total", None)
    return {"cycles": int(_num(summary["Cycles"])),
            "energy_pj": total if total is not None else sum(energy.values()),
            "computes": computes, "levels": levels, "level_cycles": level_cycles,
            "energy_by_level_pj": energy}


def read_stats(path: str | os.PathLike) -> dict:
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc})") from None
    return parse_stats(text, str(path))
