"""One Pareto design of a run as Timeloop v0.4 files: ``codesign export-timeloop``.

For design N of a run folder: ``arch.yaml`` (the v1 template as a hierarchy,
`codesign.hierarchy.v1`), ``ERT.yaml`` (the per-action energies the technology model
gives that hierarchy: `timeloop_hierarchy`), and per unique layer
``problems/NN_name.yaml`` and ``mappings/NN_name.yaml`` (the design's mapping of it), plus
``export.json`` (counts, names and both sets of figures per layer). ``codesign evaluate
arch.yaml problems/X mappings/X --ert ERT.yaml`` reads them back to the numbers that
`nest_cost` gives the design under Timeloop's counting rules (`TIMELOOP`), which differ from
pareto.csv's v1 rules (no halo, union windows, useful operands: docs/VALIDATION.md).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.technology import Technology
from codesign.atomic import make_folder
from codesign.errors import ConfigError
from codesign.hierarchy.counts import TIMELOOP
from codesign.hierarchy.levels import Compute, Hierarchy
from codesign.hierarchy.model import nest_cost
from codesign.hierarchy.nest import LoopNest, NestBatch
from codesign.hierarchy.v1 import nests_from_v1, v1_hierarchy
from codesign.mapping.batch import MappingBatch
from codesign.mapping.mapping import Mapping
from codesign.timeloop.writers import (
    both_axes,
    flatten_fanouts,
    flatten_nest,
    generate_arch,
    generate_ert,
    generate_mapping,
    generate_problem,
    write_yaml,
)
from codesign.workload.layer import DIMS, TENSORS, Layer

__all__ = ["TimeloopExport", "export_design", "loop_nests", "timeloop_hierarchy"]


def timeloop_hierarchy(accelerator: Accelerator, technology: Technology | None = None
                       ) -> Hierarchy:
    """`v1_hierarchy` of ``accelerator`` with the v1 model's energies per access (RF, GLB,
    DRAM and MAC as `codesign.cost.energy` prices them for this design), areas from
    `with_technology`, and leakage per cycle per instance: the technology's leakage
    density x the level's own area (the MAC, the per-PE overhead and the fixed chip area
    do not leak here, as Timeloop charges compute units none)."""
    from codesign.cost.energy import dram_access_pj, glb_access_pj, mac_pj, rf_access_pj
    from codesign.cost.levels import with_technology

    tech = technology or accelerator.technology or Technology.default()
    a = accelerator
    f64 = torch.float64
    bits = torch.tensor(float(a.word_bits), dtype=f64)
    access = {
        "RF": float(rf_access_pj(torch.tensor(float(a.rf_words), dtype=f64), bits, tech, f64)),
        "GLB": float(glb_access_pj(torch.tensor(float(a.glb_words), dtype=f64), bits, tech,
                                   f64)),
        "DRAM": float(dram_access_pj(bits, tech, f64)),
    }
    h = v1_hierarchy(a)
    nodes = tuple(replace(n, read_pj=access[n.name], fill_pj=access[n.name],
                          update_pj=access[n.name]) if n.name in access else n
                  for n in h.nodes)
    h = with_technology(replace(h, nodes=nodes,
                                compute=Compute("MAC", mac_pj=float(mac_pj(bits, tech, f64)))),
                        tech, mac_bits=a.word_bits)
    per_cycle = tech.leakage_mw_per_mm2 * 1e3 / a.clock_mhz    # pJ per cycle per mm2
    nodes = tuple(replace(n, leak_pj=n.area_um2 * 1e-6 * per_cycle) if n.name in access
                  else n for n in h.nodes)
    return replace(h, nodes=nodes)


def loop_nests(hierarchy: Hierarchy, nests: NestBatch) -> list[list[LoopNest]]:
    """``[b][l]`` `LoopNest` of an integer `NestBatch` (every level's full order kept)."""
    slots = [s.name for s in hierarchy.slots]
    factors = nests.factors.to(torch.int64).tolist()
    order = nests.order.tolist()
    keep = nests.keep.tolist() if nests.keep is not None else None
    out = []
    for b, (fb, ob) in enumerate(zip(factors, order, strict=True)):
        row = []
        for li, (f, o) in enumerate(zip(fb, ob, strict=True)):
            fac = {s: {DIMS[d]: v for d, v in enumerate(f[i]) if v > 1}
                   for i, s in enumerate(slots)}
            ords = {lv: tuple(DIMS[d] for d in o[m])
                    for m, lv in enumerate(hierarchy.level_names)}
            kept = {} if keep is None else {
                lv: tuple(t for t, k in zip(TENSORS, keep[b][li][m], strict=True) if k)
                for m, lv in enumerate(hierarchy.level_names)}
            row.append(LoopNest(fac, ords, kept))
        out.append(row)
    return out


@dataclass(frozen=True)
class TimeloopExport:
    """What `export_design` wrote and how its Timeloop-rule figures compare with the run's
    v1 figures (pareto.csv's, for the MAC layers: Timeloop files hold no vector ops)."""

    folder: Path
    design: int
    files: tuple[Path, ...]
    layers: tuple[dict, ...]            # per unique layer: names, count, files, both figures
    timeloop: dict[str, float]          # {"cycles", "energy_pj"} summed with counts
    v1: dict[str, float]
    notes: tuple[str, ...] = ()

    @property
    def energy_change(self) -> float:
        """Timeloop-rule energy over the v1 energy, minus 1."""
        return self.timeloop["energy_pj"] / self.v1["energy_pj"] - 1.0

    @property
    def cycles_change(self) -> float:
        return self.timeloop["cycles"] / self.v1["cycles"] - 1.0

    def note(self) -> str:
        """One line: how far the Timeloop rules move this design's numbers."""
        return (f"Timeloop rules give energy {self.energy_change:+.1%}, cycles "
                f"{self.cycles_change:+.1%} vs pareto.csv (design {self.design}, MAC layers)")

    def to_dict(self) -> dict:
        return {"design": self.design, "files": [str(p) for p in self.files],
                "layers": list(self.layers), "timeloop": self.timeloop, "v1": self.v1,
                "energy_change": self.energy_change, "cycles_change": self.cycles_change,
                "notes": list(self.notes), "note": self.note()}


def _slug(index: int, name: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._")[:40]
    return f"{index:02d}_{stem}" if stem else f"{index:02d}"


def _read_design(run_dir: Path, design: int) -> tuple[dict, dict]:
    from codesign.results.report import read_run

    run = read_run(run_dir)
    entries = {d.get("design"): d for d in run["designs"]}
    if design not in entries:
        ids = sorted(k for k in entries if isinstance(k, int))
        have = f"{ids[0]}..{ids[-1]}" if ids else "none"
        raise ConfigError(f"{run_dir}: no design {design} in designs.json (designs: {have}); "
                          "pick one from pareto.csv's design column")
    return entries[design], run["run"]


def export_design(run_dir: str | Path, design: int, out: str | Path) -> TimeloopExport:
    """Write design ``design`` of the run folder ``run_dir`` as Timeloop files into
    ``out`` (module docstring) and return what was written with both sets of figures.

    A mapping that unrolls one dim on both the PE rows and cols cannot be one Timeloop
    spatial directive; then the array is written as one ``rows x cols`` wide mesh (same
    counts; the export's notes say so). Raises `ConfigError` for a folder that is not a
    run or a design it lacks.
    """
    from codesign.arch.io import parse_accelerator
    from codesign.arch.presets import resolve_technology

    run_dir, out = Path(run_dir), Path(out)
    entry, run = _read_design(run_dir, design)
    source = f"{run_dir}/designs.json design {design}"
    try:
        accelerator = parse_accelerator(entry["accelerator"], source=source)
        layers = [Layer.from_dict(e["shape"]) for e in entry["layers"]]
        mappings = [Mapping.from_json(e["mapping"], where=f"{source} layer {i}")
                    for i, e in enumerate(entry["layers"])]
        counts = [int(e.get("count", 1)) for e in entry["layers"]]
        v1 = [(float(e["cycles"]), float(e["energy_pj"])) for e in entry["layers"]]
        space = ((run.get("config") or {}).get("space") or {}) if isinstance(run, dict) else {}
        tech_spec = entry["accelerator"].get("technology") or space.get("technology")
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{source}: unexpected values ({type(exc).__name__}: {exc}); pass "
                          "a folder codesign explore wrote") from exc
    if not layers:
        raise ConfigError(f"{source}: no layers to export")
    technology = accelerator.technology or resolve_technology(
        tech_spec if isinstance(tech_spec, str) else None)
    hierarchy = timeloop_hierarchy(accelerator, technology)
    batch = MappingBatch.from_mappings([mappings])
    nests_v1 = nests_from_v1(batch.factors, batch.order)
    nests = loop_nests(hierarchy, nests_v1)[0]
    notes = []
    both = sorted({b.split(" on ")[0] for n in nests for b in both_axes(hierarchy, n)})
    written = hierarchy
    if both:
        written = flatten_fanouts(hierarchy)
        nests = [flatten_nest(n, hierarchy) for n in nests]
        fan = hierarchy.fanouts[0]
        notes.append(f"the mappings unroll {', '.join(both)} on both the rows and the cols, "
                     f"which a Timeloop spatial directive cannot say: the {fan.x}x{fan.y} "
                     f"array is written as one {fan.x * fan.y}-wide mesh (the same counts)")
    stride = torch.tensor([layer.stride for layer in layers])
    dilation = torch.tensor([layer.dilation for layer in layers])
    cost = nest_cost(hierarchy, nests_v1, stride, dilation, TIMELOOP)
    cycles, energy = cost.cycles[0].tolist(), cost.energy_pj[0].tolist()

    for sub in ("problems", "mappings"):
        make_folder(out / sub)
    files = [out / "arch.yaml", out / "ERT.yaml"]
    write_yaml(files[0], generate_arch(written))
    write_yaml(files[1], generate_ert(written))
    rows = []
    for i, (layer, nest) in enumerate(zip(layers, nests, strict=True)):
        names = list(entry["layers"][i].get("names") or [layer.name])
        slug = _slug(i, layer.name or (names[0] if names else ""))
        problem, mapping = out / "problems" / f"{slug}.yaml", out / "mappings" / f"{slug}.yaml"
        write_yaml(problem, generate_problem(layer))
        write_yaml(mapping, generate_mapping(written, nest))
        files += [problem, mapping]
        rows.append({"layer": i, "names": names, "count": counts[i],
                     "problem": str(problem.relative_to(out)),
                     "mapping": str(mapping.relative_to(out)),
                     "timeloop": {"cycles": cycles[i], "energy_pj": energy[i]},
                     "v1": {"cycles": v1[i][0], "energy_pj": v1[i][1]}})

    def total(values: list[float]) -> float:
        return math.fsum(c * v for c, v in zip(counts, values, strict=True))

    result = TimeloopExport(
        out, design, tuple(files), tuple(rows),
        {"cycles": total(cycles), "energy_pj": total(energy)},
        {"cycles": total([c for c, _ in v1]), "energy_pj": total([e for _, e in v1])},
        tuple(notes))
    from codesign.atomic import atomic_write_text

    atomic_write_text(out / "export.json", json.dumps(
        {"run": str(run_dir), **result.to_dict(), "accelerator": entry["accelerator"]},
        indent=2) + "\n")
    return result
