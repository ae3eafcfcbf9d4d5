"""Train a small torch MLP on analytical-model samples and search with it as the cost model.

A learned surrogate stands in for a model that is too slow to call in a search loop (a
cycle-accurate simulator, an RTL flow); here the "slow" model is the analytical one, so the
surrogate's error can be checked exactly. Steps:

1. sample random designs (`DesignSpace.decode`) and random mappings
   (`codesign.mapping.encoding.random_mappings`), cost them with `AnalyticalCostModel`;
2. fit an MLP from (layer dims, mapping factors, hardware sizes), all in log2, to
   per-layer log cycles and log energy;
3. wrap it as a `CostModel` (`SurrogateCostModel`): the MLP predicts the per-layer
   values, exact cheap terms (area, buffer capacity, mapping structure, vector ops) come
   from `codesign.cost`; one batched forward pass per population;
4. ``explore`` with it, then re-cost the front's mappings with the exact model.

Run: ``python examples/learned_surrogate.py [--quick] [--out DIR]``
"""

from __future__ import annotations

import argparse
import os
import tempfile

import torch
from torch import nn

import codesign
from codesign import AnalyticalCostModel, CostResult, HardwareBatch, MappingBatch, WorkloadTensors
from codesign.arch.technology import Technology
from codesign.cost.access_counts import tiles
from codesign.cost.analytical import capacity_excess, mapping_feasible
from codesign.cost.area import area_mm2
from codesign.cost.vector import vector_cost
from codesign.mapping.encoding import random_mappings

N_FEATURES = 8 + 5 * 8 + 6  # dims, factors (5 slots x 8 dims), hardware sizes


def features(hardware: HardwareBatch, workload: WorkloadTensors, mappings: MappingBatch
             ) -> torch.Tensor:
    """log2 of everything that sets a layer's cost.

    Shape:
        returns ``[B, L, N_FEATURES]`` float32.
    """
    n_b, n_l = mappings.shape
    dims = workload.dims.to(torch.float32).log2().expand(n_b, n_l, -1)          # [B, L, 8]
    factors = mappings.factors.to(torch.float32).log2().flatten(-2)            # [B, L, 40]
    hw = torch.stack([hardware.pe_rows, hardware.pe_cols, hardware.rf_words,
                      hardware.glb_words, hardware.glb_bw, hardware.dram_bw], -1)
    hw = hw.to(torch.float32).log2().unsqueeze(1).expand(n_b, n_l, -1)        # [B, L, 6]
    return torch.cat([dims, factors, hw], -1)


def make_mlp(hidden: int = 64) -> nn.Module:
    return nn.Sequential(nn.Linear(N_FEATURES, hidden), nn.SiLU(), nn.Linear(hidden, hidden),
                         nn.SiLU(), nn.Linear(hidden, 2))


class SurrogateCostModel:
    """A trained module as a `CostModel`: per-layer ``log(cycles), log(energy_pj)`` from
    `features`; feasibility, area and vector ops exact."""

    def __init__(self, module: nn.Module, technology: Technology | None = None) -> None:
        self.module = module.eval()
        self.technology = technology or Technology.default()

    @torch.no_grad()
    def evaluate(self, hardware: HardwareBatch, workload: WorkloadTensors,
                 mappings: MappingBatch) -> CostResult:
        dtype = hardware.glb_bw.dtype
        pred = self.module(features(hardware, workload, mappings)).to(dtype)  # [B, L, 2]
        cycles, energy = pred[..., 0].exp(), pred[..., 1].exp()                # [B, L]
        tile = tiles(mappings.factors, workload.stride, workload.dilation)
        excess = capacity_excess(tile, hardware).to(dtype)                     # [B, L]
        feasible = mapping_feasible(mappings.factors, workload.dims, hardware) & (excess <= 0)
        vec_cycles, vec_energy = vector_cost(hardware, workload, self.technology)
        counts = workload.counts.to(dtype)                                     # [L]
        n_pes = (hardware.pe_rows * hardware.pe_cols).to(dtype).unsqueeze(1)   # [B, 1]
        # the required core plus what the surrogate knows exactly; no bounds or access
        # counts (it predicts none), so no bottleneck is claimed for its designs
        return CostResult(
            cycles=cycles, energy_pj=energy, feasible=feasible,
            area_mm2=area_mm2(hardware, self.technology).to(dtype),
            latency_cycles=(cycles * counts).sum(-1) + vec_cycles.to(dtype),
            total_energy_pj=(energy * counts).sum(-1) + vec_energy.to(dtype),
            feasible_design=feasible.all(-1), clock_mhz=hardware.clock_mhz,
            utilization=(workload.dims.prod(-1).to(dtype) / (cycles * n_pes)).clamp(max=1),
            capacity_excess=excess, vector_cycles=vec_cycles.to(dtype),
            vector_energy_pj=vec_energy.to(dtype))


def sample(space: codesign.DesignSpace, workload: WorkloadTensors, n: int,
           generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` random (design, mappings) pairs costed exactly: features ``[n * L, F]`` and
    targets ``[n * L, 2]`` (log cycles, log energy)."""
    genes = torch.rand(n, space.n_genes, generator=generator, dtype=torch.float64)
    hardware = space.decode(genes)
    mappings = random_mappings(workload, hardware, 1, generator)
    exact = AnalyticalCostModel().evaluate(hardware, workload, mappings)
    x = features(hardware, workload, mappings).flatten(0, 1)
    y = torch.stack([exact.cycles.log(), exact.energy_pj.log()], -1).flatten(0, 1)
    return x, y.to(torch.float32)


def train(x: torch.Tensor, y: torch.Tensor, steps: int, seed: int = 0) -> nn.Module:
    """Full-batch Adam on mean squared log error; inputs standardised inside the module."""
    torch.manual_seed(seed)
    mean, std = x.mean(0), x.std(0).clamp(min=1e-3)
    y_mean = y.mean(0)
    mlp = make_mlp()

    class Standardised(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.mlp = mlp
            self.register_buffer("mean", mean)
            self.register_buffer("std", std)
            self.register_buffer("y_mean", y_mean)

        def forward(self, inputs: torch.Tensor) -> torch.Tensor:
            return self.mlp((inputs - self.mean) / self.std) + self.y_mean

    model = Standardised()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=bool(os.environ.get("CODESIGN_EXAMPLES_QUICK")),
                        help="tiny budget (what the tests run)")
    parser.add_argument("--out", help="output folder (default: a temporary one)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # small tensors: one thread is fastest on a shared machine

    table = codesign.LayerTable.from_layers([
        codesign.Layer.conv(K=32, C=16, P=28, Q=28, R=3, S=3, name="conv3x3"),
        codesign.Layer.conv(K=64, C=32, P=14, Q=14, R=1, S=1, name="conv1x1"),
        codesign.Layer.gemm(M=64, K=256, N=256, name="fc"),
    ])
    workload = WorkloadTensors.from_table(table)
    space = codesign.DesignSpace()
    generator = torch.Generator().manual_seed(0)
    n_train, steps = (256, 150) if args.quick else (4096, 1500)
    x, y = sample(space, workload, n_train, generator)
    x_test, y_test = sample(space, workload, 256, generator)
    model = train(x, y, steps)
    with torch.no_grad():
        err = (model(x_test) - y_test).abs().mean(0).exp()   # geometric mean ratio
    print(f"surrogate on {x_test.shape[0]} held-out (design, layer) pairs: typical error "
          f"x{err[0]:.2f} in cycles, x{err[1]:.2f} in energy")

    budget = (dict(population=6, generations=2, mapper_candidates=4, mapper_steps=1)
              if args.quick else dict(population=24, generations=12))
    out = args.out or tempfile.mkdtemp(prefix="codesign-surrogate-")
    result = codesign.explore(table, space, objectives=("latency", "energy"),
                              cost_model=SurrogateCostModel(model), out=out, plot=False,
                              **budget)
    print(f"{len(result.pareto)} Pareto designs from the surrogate; exact re-costing:")
    for design in result.pareto[:3]:
        exact_cycles = sum(
            layer["count"] * codesign.evaluate_mapping(
                table.layers[layer["layer"]], design.accelerator,
                codesign.Mapping.from_json(layer["mapping"]))["cycles"]
            for layer in design.layers)
        predicted = sum(layer["count"] * layer["cycles"] for layer in design.layers)
        print(f"  design {design.index}: {design.accelerator.pe_rows}x"
              f"{design.accelerator.pe_cols} PEs, MAC-layer cycles predicted "
              f"{predicted:,.0f}, exact {exact_cycles:,.0f}")
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
