"""The lowest EDP any mapping could reach on any design of the default space: a floor that
says how much room a search has above random search, whatever the strategy.

    python benchmarks/edp_floor.py                      # ResNet-50 and BERT-base
    python benchmarks/edp_floor.py --models bert

Every design of the `DesignSpace` (one gene vector per combination of allowed values, at
the bins' centres) gets the per-layer lower bounds of `codesign.cost.bounds.lower_bounds`
(cycles and energy that no mapping can beat), summed with the layer counts, plus the
vector ops' cycles and energy (they have no mapping). The network floor of a design is
``latency bound x energy bound``; the floor of the space is the minimum over all designs.
No strategy can report a best EDP below it, so ``random search's best EDP / floor`` caps
the "best EDP vs random" ratio any strategy can show.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

import numpy as np
import torch

from codesign.arch.presets import resolve_technology
from codesign.arch.space import HW_GENES, DesignSpace
from codesign.cost.bounds import lower_bounds
from codesign.cost.vector import vector_cost
from codesign.mapping.batch import WorkloadTensors
from codesign.workload.table import load_onnx

ROOT = Path(__file__).resolve().parents[1]
MODELS = {"resnet50": ROOT / "models" / "resnet50.onnx",
          "bert": ROOT / "models" / "bert_base.onnx"}


def all_designs(space: DesignSpace) -> np.ndarray:
    """``[N, H]`` genes, one row per combination of allowed values (bin centres)."""
    sizes = [len(space.choices(g)) for g in HW_GENES]
    grid = np.array(list(itertools.product(*(range(n) for n in sizes))), dtype=np.float64)
    return (grid + 0.5) / np.array(sizes, dtype=np.float64)


def edp_floor(space: DesignSpace, workload: WorkloadTensors) -> tuple[float, np.ndarray]:
    """The least ``latency_s x energy_j`` lower bound over every design of ``space``, and
    the genes ``[H]`` of the design that has it."""
    tech = resolve_technology(space.technology)
    genes = all_designs(space)
    hardware = space.decode(genes)
    bounds = lower_bounds(hardware, workload, tech)               # [N, L] each
    counts = workload.counts.to(torch.float64)                    # [L]
    vec_cycles, vec_energy = vector_cost(hardware, workload, tech)  # [N], [N]
    cycles = (bounds["cycles"] * counts).sum(-1) + vec_cycles     # [N]
    energy_pj = (bounds["energy_pj"] * counts).sum(-1) + vec_energy
    edp = cycles / (hardware.clock_mhz * 1e6) * energy_pj * 1e-12  # [N] J*s
    best = int(edp.argmin())
    return float(edp[best]), genes[best]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    args = parser.parse_args(argv)
    space = DesignSpace()
    for model in args.models:
        workload = WorkloadTensors.from_table(load_onnx(MODELS[model]))
        floor, genes = edp_floor(space, workload)
        print(f"{model}: EDP floor {floor:.4g} J*s over {len(all_designs(space))} designs, "
              f"at {space.accelerator(genes).to_dict()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
