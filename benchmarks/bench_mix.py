"""What costing a mix of workloads costs, against costing their union once.

    python benchmarks/bench_mix.py                   # ResNet-50 + BERT-base + MobileNetV2
    python benchmarks/bench_mix.py --designs 64 --repeats 5

Three ways, on the same designs and mappings (the batched mapper's, one step): the union of
the unique layers costed in one analytical call (no per-workload figures: the baseline);
`MixCostModel` over the analytical model (the union once, then each workload's totals from
the count matrix and its vector ops); `MixCostModel` over a model it does not know to be
additive (a trivial subclass: one inner call per workload). The script prints the wall time
per call of each and the ratios, and checks that they agree.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from codesign.arch.space import DesignSpace
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.mix import MixCostModel
from codesign.mapping.batch import WorkloadTensors
from codesign.search.mapper import search_mappings
from codesign.workload.mix import WorkloadMix
from codesign.workload.table import load_onnx

MODELS = Path(__file__).resolve().parents[1] / "models"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+",
                        default=["resnet50.onnx", "bert_base.onnx", "mobilenet_v2.onnx"])
    parser.add_argument("--designs", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(1)
    tables = {Path(m).stem: load_onnx(MODELS / m) for m in args.models}
    mix = WorkloadMix.from_tables(tables)
    space = DesignSpace()
    generator = torch.Generator().manual_seed(0)
    genes = torch.rand(args.designs, space.n_genes, generator=generator, dtype=torch.float64)
    hardware = space.decode(genes)
    union = WorkloadTensors.from_table(mix.union)
    inner = AnalyticalCostModel()
    mappings, _ = search_mappings(hardware, union, inner, "edp", n_candidates=2, n_steps=1,
                                  generator=generator)
    mixed = MixCostModel(inner, mix)

    class Opaque(AnalyticalCostModel):
        """The analytical model under another class: `MixCostModel` costs it per workload."""

    general = MixCostModel(Opaque(), mix)

    def timed(model) -> tuple[float, object]:
        model.evaluate(hardware, union, mappings)   # warm-up
        start = time.perf_counter()
        for _ in range(args.repeats):
            result = model.evaluate(hardware, union, mappings)
        return (time.perf_counter() - start) / args.repeats, result

    t_union, r_union = timed(inner)
    t_mix, r_mix = timed(mixed)
    t_gen, r_gen = timed(general)
    assert torch.equal(r_union.cycles, r_mix.cycles), "per-layer cycles differ"
    for name, value in r_gen.objectives().items():
        torch.testing.assert_close(r_mix.objectives()[name], value)
    n_layers = sum(len(t) for t in tables.values())
    print(f"models {', '.join(tables)}: {len(mix.union)} union layers, {n_layers} per-model "
          f"unique layers; {args.designs} designs, {args.repeats} repeats")
    print(f"union once      {t_union * 1e3:8.2f} ms/call")
    print(f"mix, additive   {t_mix * 1e3:8.2f} ms/call  ({t_mix / t_union:.2f}x)")
    print(f"mix, per model  {t_gen * 1e3:8.2f} ms/call  ({t_gen / t_union:.2f}x)")


if __name__ == "__main__":
    main()
