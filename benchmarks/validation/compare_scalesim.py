"""Side-by-side table of SCALE-Sim's reference numbers and codesign's, for docs/VALIDATION.md.

Reads ``scalesim_reference.json`` (made by ``scalesim_reference.py``), costs the codesign
mapping that corresponds to each SCALE-Sim run (`systolic_mapping`) with the analytical model
on the same array (systolic on, a GLB large enough for every operand, like SCALE-Sim's 6 MB
SRAMs) and prints, per run, compute cycles and the SRAM (GLB) and DRAM access counts of both
with codesign's relative error. Runs in the project venv::

    python benchmarks/validation/compare_scalesim.py                 # print the markdown
    python benchmarks/validation/compare_scalesim.py --write docs/VALIDATION.md

``--write`` replaces the text between the ``<!-- scalesim-table:begin -->`` and
``<!-- scalesim-table:end -->`` markers of that file.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

import torch

from codesign import Accelerator, Layer, LayerTable
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.latency import compute_cycles
from codesign.cost.systolic import systolic_compute_cycles
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.systolic import systolic_mapping

HERE = Path(__file__).resolve().parent
BEGIN, END = "<!-- scalesim-table:begin -->", "<!-- scalesim-table:end -->"
_GLB, _DRAM = 1, 2
_W, _I, _O = 0, 1, 2
_READS, _WRITES = 0, 1


def codesign_numbers(run: dict) -> dict:
    """Compute cycles and GLB/DRAM counts of the corresponding codesign mapping."""
    spec = run["layer"]
    layer = Layer(*(spec[d] for d in "NGKCPQRS"), stride=tuple(spec["stride"]))
    mapping = systolic_mapping(layer, run["dataflow"], run["rows"], run["cols"])
    acc = Accelerator(pe_rows=run["rows"], pe_cols=run["cols"], rf_words=4,
                      glb_words=1 << 26, dataflow=run["dataflow"], systolic=True)
    hw = HardwareBatch.from_accelerators([acc])
    wl = WorkloadTensors.from_table(LayerTable.from_layers([layer]))
    mb = MappingBatch.from_mappings([[mapping]])
    res = AnalyticalCostModel().evaluate(hw, wl, mb)
    a = res.accesses[0, 0]
    return {
        "compute_cycles": float(systolic_compute_cycles(mb.factors, wl.dims, hw, mb.order)[0, 0]),
        "v1_compute_cycles": float(compute_cycles(mb.factors, hw)[0, 0]),
        "feasible": bool(res.feasible[0, 0]),
        "sram": {"ifmap_reads": int(a[_GLB, _I, _READS]), "filter_reads": int(a[_GLB, _W, _READS]),
                 "ofmap_writes": int(a[_GLB, _O, _WRITES]),
                 "ofmap_reads": int(a[_GLB, _O, _READS])},
        "dram": {"ifmap_reads": int(a[_DRAM, _I, _READS]),
                 "filter_reads": int(a[_DRAM, _W, _READS]),
                 "ofmap_writes": int(a[_DRAM, _O, _WRITES])},
    }


def _err(ours: float, theirs: float) -> str:
    return "n/a" if theirs == 0 else f"{(ours - theirs) / theirs:+.1%}"


COLUMNS = [("sram", "ifmap_reads", "GLB I reads"), ("sram", "filter_reads", "GLB W reads"),
           ("sram", "ofmap_writes", "GLB O writes"), ("dram", "ifmap_reads", "DRAM I reads"),
           ("dram", "filter_reads", "DRAM W reads"), ("dram", "ofmap_writes", "DRAM O writes")]


def table(reference: dict) -> str:
    """The markdown: a summary of relative errors per dataflow, then one row per run."""
    rows, errors = [], {}
    runs = sorted(reference["runs"].values(),
                  key=lambda r: (r["id"].split("/")[0], r["dataflow"], r["rows"] * 1000 + r["cols"],
                                 r["layer"]["name"]))
    for run in runs:
        ours = codesign_numbers(run)
        cells = [run["id"].split("/")[0], run["layer"]["name"], f"{run['rows']}x{run['cols']}",
                 run["dataflow"], f"{run['compute_cycles']}", f"{ours['compute_cycles']:.0f}",
                 _err(ours["compute_cycles"], run["compute_cycles"])]
        key = run["dataflow"]
        e = errors.setdefault(key, {})
        e.setdefault("cycles", []).append(
            abs(ours["compute_cycles"] - run["compute_cycles"]) / run["compute_cycles"])
        e.setdefault("v1", []).append(
            (ours["v1_compute_cycles"] - run["compute_cycles"]) / run["compute_cycles"])
        for level, name, _ in COLUMNS:
            theirs, mine = run[level][name], ours[level][name]
            cells.append(f"{theirs} / {mine} ({_err(mine, theirs)})")
            if theirs:
                errors[key].setdefault(f"{level}.{name}", []).append((mine - theirs) / theirs)
        if not ours["feasible"]:
            cells[1] += " (infeasible!)"
        rows.append("| " + " | ".join(cells) + " |")

    out = ["Relative error of codesign against SCALE-Sim, median [min, max] over the runs:", "",
           "| dataflow | runs | compute cycles (abs) | "
           + " | ".join(c[2] for c in COLUMNS) + " |",
           "|---|---|---|" + "---|" * len(COLUMNS)]
    for df in ("ws", "os", "is"):
        e = errors.get(df)
        if not e:
            continue
        cells = [df, str(len(e["cycles"])), f"max {max(e['cycles']):.3%}"]
        for level, name, _ in COLUMNS:
            v = e.get(f"{level}.{name}", [0.0])
            cells.append(f"{statistics.median(v):+.1%} [{min(v):+.1%}, {max(v):+.1%}]")
        out.append("| " + " | ".join(cells) + " |")
    out += ["", "What the v1 roofline misses: v1 compute cycles of the same mappings (no fill "
            "and drain, per-dim folds) against SCALE-Sim's, median [min, max]:", "",
            "| dataflow | v1 compute error |", "|---|---|"]
    for df in ("ws", "os", "is"):
        if df in errors:
            v = errors[df]["v1"]
            out.append(f"| {df} | {statistics.median(v):+.1%} [{min(v):+.1%}, {max(v):+.1%}] |")
    out += ["", "Per run, SCALE-Sim / codesign (codesign's relative error):", "",
            "| workload | layer | array | flow | SCALE-Sim cycles | codesign cycles | error | "
            + " | ".join(c[2] for c in COLUMNS) + " |",
            "|---|---|---|---|---|---|---|" + "---|" * len(COLUMNS)]
    return "\n".join(out + rows) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=HERE / "scalesim_reference.json")
    parser.add_argument("--write", type=Path, help="markdown file with the table markers")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    text = table(json.loads(args.reference.read_text()))
    if args.write is None:
        sys.stdout.write(text)
        return 0
    doc = args.write.read_text()
    if BEGIN not in doc or END not in doc:
        raise SystemExit(f"{args.write}: no {BEGIN} ... {END} markers to replace")
    doc = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END),
                 lambda _: f"{BEGIN}\n{text}{END}", doc, flags=re.S)
    args.write.write_text(doc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
