"""Regenerate the SCALE-Sim reference data that tests/validation/ compares codesign against.

Runs SCALE-Sim v3 (PyPI ``scalesim``), the cycle-level systolic-array simulator, on the layers
of ResNet-18 (every conv and the FC), MobileNetV2's pointwise convs and BERT-base GEMMs, on
square and non-square arrays, for the ``os``, ``ws`` and ``is`` dataflows, and stores only the
summary numbers (compute and stall cycles, utilisation, SRAM and DRAM access counts) with the
SCALE-Sim version and config in ``scalesim_reference.json`` next to this file. No per-cycle
trace is ever written.

How to run (SCALE-Sim lives in its own venv so that it cannot disturb the project's)::

    python3 -m venv /tmp/scalesim-venv
    /tmp/scalesim-venv/bin/pip install scalesim==3.0.0
    nohup /tmp/scalesim-venv/bin/python benchmarks/validation/scalesim_reference.py \
        > /tmp/scalesim_reference.log 2>&1 &

It runs one SCALE-Sim process at a time (each run in a child process with ``--timeout``
seconds), writes the JSON after every run and skips runs already in it, so it can be stopped
and restarted. ``--list`` prints the planned runs with their estimated size; ``--only REGEX``
restricts the runs by id (``workload/layer/RxC/dataflow``). The whole set takes 30-60
minutes on one core (about 100-300 microseconds per simulated cycle).

Workaround applied at run time (never by editing the installed package): SCALE-Sim 3.0.0
calls ``int(max(list_of_one_element_arrays))``, which numpy >= 2 rejects ("only 0-dimensional
arrays can be converted to Python scalars"). ``_patch_scalesim`` gives the memory modules a
module-level ``max`` that reduces such a list to a numpy scalar; results are unchanged.

SCALE-Sim conventions this script relies on (read from its source, ``scalesim/compute`` and
``scalesim/topology_utils.py``): a layer is an im2col GEMM with ``Sr x T`` ifmap operand and
``T x Sc`` filter operand; ofmap = ``ceil((H - R + stride) / stride)`` with no padding, so a
padded conv is given its padded input size ``(P - 1) * stride + R``; a GEMM ``[M x Kd] @
[Kd x Nd]`` is the conv ``H = M, W = 1, R = S = 1, C = Kd, K = Nd``. The word size is 1 byte.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "scalesim_reference.json"

# SCALE-Sim config shared by every run. SRAM sizes are those of SCALE-Sim's example configs
# (6 MB ifmap/filter, 2 MB ofmap): large enough that every operand of the reference set fits,
# so DRAM traffic is compulsory traffic. CALC bandwidth mode: SCALE-Sim estimates the DRAM
# bandwidth needed for a stall-free run, so "compute cycles" are stall-free by construction.
CONFIG = {
    "IfmapSramSzkB": 6144,
    "FilterSramSzkB": 6144,
    "OfmapSramSzkB": 2048,
    "IfmapOffset": 0,
    "FilterOffset": 10000000,
    "OfmapOffset": 20000000,
    "Bandwidth": 10,
    "ReadRequestBuffer": 32,
    "WriteRequestBuffer": 32,
    "InterfaceBandwidth": "CALC",
}


def _conv(name: str, C: int, K: int, P: int, R: int = 1, stride: int = 1) -> dict:
    """A square conv in codesign's dims (N = G = 1, Q = P, S = R)."""
    return {"name": name, "N": 1, "G": 1, "K": K, "C": C, "P": P, "Q": P, "R": R, "S": R,
            "stride": [stride, stride]}


def _gemm(name: str, M: int, Kd: int, Nd: int) -> dict:
    """``[M x Kd] @ [Kd x Nd]`` in codesign's dims (``Layer.gemm``: P = M, C = Kd, K = Nd)."""
    return {"name": name, "N": 1, "G": 1, "K": Nd, "C": Kd, "P": M, "Q": 1, "R": 1, "S": 1,
            "stride": [1, 1]}


# ResNet-18 at 224x224: its 12 distinct conv/FC shapes (torchvision layout).
RESNET18 = [
    _conv("conv1", 3, 64, 112, 7, 2),
    _conv("layer1.conv3x3", 64, 64, 56, 3),
    _conv("layer2.0.conv1", 64, 128, 28, 3, 2),
    _conv("layer2.0.downsample", 64, 128, 28, 1, 2),
    _conv("layer2.conv3x3", 128, 128, 28, 3),
    _conv("layer3.0.conv1", 128, 256, 14, 3, 2),
    _conv("layer3.0.downsample", 128, 256, 14, 1, 2),
    _conv("layer3.conv3x3", 256, 256, 14, 3),
    _conv("layer4.0.conv1", 256, 512, 7, 3, 2),
    _conv("layer4.0.downsample", 256, 512, 7, 1, 2),
    _conv("layer4.conv3x3", 512, 512, 7, 3),
    _gemm("fc", 1, 512, 1000),
]

# MobileNetV2 at 224x224: its 19 distinct pointwise (1x1) conv shapes (C -> K at P x P).
MOBILENETV2_PW = [
    _conv(f"pw{c}x{k}@{p}", c, k, p) for c, k, p in [
        (32, 16, 112), (16, 96, 112), (96, 24, 56), (24, 144, 56), (144, 24, 56),
        (144, 32, 28), (32, 192, 28), (192, 32, 28), (192, 64, 14), (64, 384, 14),
        (384, 64, 14), (384, 96, 14), (96, 576, 14), (576, 96, 14), (576, 160, 7),
        (160, 960, 7), (960, 160, 7), (960, 320, 7), (320, 1280, 7),
    ]
]

# BERT-base, sequence 128: the projections, FFN and one attention head's two matmuls.
BERT = [
    _gemm("qkv_proj", 128, 768, 768),
    _gemm("ffn1", 128, 768, 3072),
    _gemm("ffn2", 128, 3072, 768),
    _gemm("head_qk", 128, 64, 128),
    _gemm("head_av", 128, 128, 64),
]

WORKLOADS = {"resnet18": RESNET18, "mobilenetv2_pw": MOBILENETV2_PW, "bert_base": BERT}
DATAFLOWS = ("os", "ws", "is")


def gemm_view(layer: dict, dataflow: str) -> tuple[int, int, int]:
    """SCALE-Sim's ``(Sr, Sc, T)``: what goes on the rows, on the cols, and what streams."""
    npq = layer["N"] * layer["P"] * layer["Q"]
    crs = layer["C"] * layer["R"] * layer["S"]
    k = layer["K"]
    return {"ws": (crs, k, npq), "os": (npq, k, crs), "is": (crs, npq, k)}[dataflow]


def estimated_lines(layer: dict, rows: int, cols: int, dataflow: str) -> int:
    """Demand-matrix lines SCALE-Sim steps through (its run time is about linear in them)."""
    sr, sc, t = gemm_view(layer, dataflow)
    per_fold = t + rows + cols - 2 + (0 if dataflow == "os" else rows)
    return math.ceil(sr / rows) * math.ceil(sc / cols) * per_fold


def planned_runs() -> list[dict]:
    """The cross product, chosen so that the whole set runs in under an hour on one core.

    Every ResNet-18 layer on 32x32 for all three dataflows (run first); on 16x64 and 8x8 the
    layers whose run stays small; MobileNetV2 pointwise and BERT GEMMs on 32x32 and, where
    small, 16x64. Size caps are in SCALE-Sim demand lines (`estimated_lines`).
    """
    runs = []

    def add(workload: str, layer: dict, rows: int, cols: int, df: str, cap: int = 0) -> None:
        lines = estimated_lines(layer, rows, cols, df)
        if cap and lines > cap:
            return
        runs.append({"id": f"{workload}/{layer['name']}/{rows}x{cols}/{df}",
                     "workload": workload, "layer": layer, "rows": rows, "cols": cols,
                     "dataflow": df, "est_lines": lines,
                     "first": workload == "resnet18" and rows == cols == 32})

    for df in DATAFLOWS:
        for layer in RESNET18:
            add("resnet18", layer, 32, 32, df)
            add("resnet18", layer, 16, 64, df, cap=130_000)
            add("resnet18", layer, 8, 8, df, cap=125_000)
        for layer in MOBILENETV2_PW:
            add("mobilenetv2_pw", layer, 32, 32, df)
            add("mobilenetv2_pw", layer, 16, 64, df, cap=100_000)
        for layer in BERT:
            add("bert_base", layer, 32, 32, df, cap=310_000)
            add("bert_base", layer, 16, 64, df, cap=130_000)
    return sorted(runs, key=lambda r: (not r["first"], r["est_lines"]))


# -- worker: one SCALE-Sim run in this (child) process ---------------------------------------

def _patch_scalesim() -> None:
    """numpy >= 2 compatibility shim, applied at run time (see the module docstring)."""
    import builtins

    import numpy as np
    import scalesim.memory.double_buffered_scratchpad_mem as dbsp
    import scalesim.memory.read_buffer as rdbuf

    def _max(*args, **kwargs):
        if len(args) == 1 and not kwargs and isinstance(args[0], list) and args[0] \
                and isinstance(args[0][0], np.ndarray):
            return np.max(np.concatenate([np.ravel(a) for a in args[0]]))
        return builtins.max(*args, **kwargs)

    dbsp.max = _max
    rdbuf.max = _max


def _write_inputs(folder: Path, run: dict) -> tuple[Path, Path]:
    import configparser

    layer = run["layer"]
    cfg = configparser.ConfigParser()
    cfg.optionxform = str
    cfg["general"] = {"run_name": "codesign_reference"}
    cfg["architecture_presets"] = {
        "ArrayHeight": str(run["rows"]), "ArrayWidth": str(run["cols"]),
        "Dataflow": run["dataflow"],
        **{k: str(v) for k, v in CONFIG.items() if k != "InterfaceBandwidth"},
    }
    cfg["layout"] = {"IfmapCustomLayout": "False", "FilterCustomLayout": "False",
                     "IfmapSRAMBankBandwidth": "10", "IfmapSRAMBankNum": "10",
                     "IfmapSRAMBankPort": "2", "FilterSRAMBankBandwidth": "10",
                     "FilterSRAMBankNum": "10", "FilterSRAMBankPort": "2"}
    cfg["sparsity"] = {"SparsitySupport": "false", "SparseRep": "ellpack_block",
                       "OptimizedMapping": "false", "BlockSize": "8",
                       "RandomNumberGeneratorSeed": "40"}
    cfg["run_presets"] = {"InterfaceBandwidth": CONFIG["InterfaceBandwidth"],
                          "UseRamulatorTrace": "False"}
    cfg_path = folder / "scale.cfg"
    with open(cfg_path, "w") as f:
        cfg.write(f)
    if layer["N"] != 1 or layer["G"] != 1 or layer["stride"][0] != layer["stride"][1]:
        raise ValueError(f"{run['id']}: SCALE-Sim takes N = G = 1 and one stride")
    stride = layer["stride"][0]
    height = (layer["P"] - 1) * stride + layer["R"]
    width = (layer["Q"] - 1) * stride + layer["S"]
    topo_path = folder / "topology.csv"
    topo_path.write_text(
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,\n"
        f"{layer['name']}, {height}, {width}, {layer['R']}, {layer['S']}, {layer['C']}, "
        f"{layer['K']}, {stride},\n")
    return cfg_path, topo_path


def run_one(run: dict) -> dict:
    """Run SCALE-Sim on one layer and return its summary numbers (no trace is written)."""
    import contextlib
    import io

    _patch_scalesim()
    from scalesim.layout_utils import layouts
    from scalesim.scale_config import scale_config
    from scalesim.single_layer_sim import single_layer_sim
    from scalesim.topology_utils import topologies

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="scalesim_ref_") as tmp:
        cfg_path, topo_path = _write_inputs(Path(tmp), run)
        config = scale_config()
        config.read_conf_file(str(cfg_path))
        topo = topologies()
        topo.load_arrays(topofile=str(topo_path))
        sim = single_layer_sim()
        with contextlib.redirect_stdout(io.StringIO()):
            sim.set_params(layer_id=0, config_obj=config, topology_obj=topo,
                           layout_obj=layouts(), verbose=False)
            sim.run()
            (total_incl_prefetch, compute_cycles, stall_cycles, overall_util, mapping_eff,
             compute_util) = sim.get_compute_report_items()
            detail = sim.get_detail_report_items()
    compute = sim.compute_system
    expected = gemm_view(run["layer"], run["dataflow"])
    got = (int(compute.Sr), int(compute.Sc), int(compute.T))
    if got != expected:
        raise RuntimeError(f"{run['id']}: SCALE-Sim's GEMM view {got} != expected {expected}")
    return {
        "compute_cycles": int(compute_cycles),
        "stall_cycles": int(stall_cycles),
        "total_cycles_incl_prefetch": int(total_incl_prefetch),
        "overall_util_pct": float(overall_util),
        "mapping_efficiency_pct": float(mapping_eff),
        "compute_util_pct": float(compute_util),
        "sram": {"ifmap_reads": int(detail[2]), "filter_reads": int(detail[5]),
                 "ofmap_writes": int(detail[8])},
        "dram": {"ifmap_reads": int(detail[11]), "filter_reads": int(detail[14]),
                 "ofmap_writes": int(detail[17])},
        "gemm": {"Sr": got[0], "Sc": got[1], "T": got[2],
                 "row_folds": math.ceil(got[0] / run["rows"]),
                 "col_folds": math.ceil(got[1] / run["cols"])},
        "wall_s": round(time.perf_counter() - start, 2),
    }


# -- driver: one child process per run, results merged into the JSON ------------------------

def _versions() -> dict:
    from importlib.metadata import version

    return {"scalesim": version("scalesim"), "numpy": version("numpy"),
            "python": platform.python_version()}


def _save(path: Path, data: dict) -> None:
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    os.replace(tmp, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds per SCALE-Sim run before it is killed and skipped")
    parser.add_argument("--only", default="", help="regex on run ids")
    parser.add_argument("--list", action="store_true", help="print the plan and exit")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        print(json.dumps(run_one(json.loads(args.worker))))
        return 0

    runs = [r for r in planned_runs() if re.search(args.only, r["id"])]
    if args.list:
        for r in runs:
            print(f"{r['est_lines']:>10,d}  {r['id']}")
        print(f"{len(runs)} runs, {sum(r['est_lines'] for r in runs):,d} lines")
        return 0

    data = json.loads(args.out.read_text()) if args.out.exists() else {}
    data.update({
        "generator": "benchmarks/validation/scalesim_reference.py",
        "versions": _versions(),
        "config": CONFIG,
        "notes": "compute_cycles = SCALE-Sim COMPUTE_REPORT 'Total Cycles' (stall-free in CALC "
                 "mode); word size 1 byte; numpy>=2 shim on max() applied at run time",
    })
    results = data.setdefault("runs", {})
    failures = data.setdefault("failures", {})
    for i, run in enumerate(runs):
        if run["id"] in results:
            continue
        t0 = time.perf_counter()
        spec = {k: run[k] for k in ("id", "layer", "rows", "cols", "dataflow")}
        try:
            proc = subprocess.run([sys.executable, __file__, "--worker", json.dumps(spec)],
                                  capture_output=True, text=True, timeout=args.timeout)
        except subprocess.TimeoutExpired:
            failures[run["id"]] = f"timeout after {args.timeout:.0f} s"
            print(f"[{i + 1}/{len(runs)}] {run['id']}: TIMEOUT", flush=True)
            _save(args.out, data)
            continue
        if proc.returncode != 0:
            failures[run["id"]] = proc.stderr.strip().splitlines()[-1:] or ["failed"]
            print(f"[{i + 1}/{len(runs)}] {run['id']}: FAILED\n{proc.stderr}", flush=True)
        else:
            out = json.loads(proc.stdout.strip().splitlines()[-1])
            results[run["id"]] = {**spec, **out}
            failures.pop(run["id"], None)
            print(f"[{i + 1}/{len(runs)}] {run['id']}: {out['compute_cycles']} cycles "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
        _save(args.out, data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
