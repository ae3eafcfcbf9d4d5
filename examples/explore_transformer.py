"""Explore accelerators for a transformer from Python, then map its layers on the winner.

Uses ``models/bert_base.onnx`` (BERT-base, sequence 128, weight-free; its attention
MatMuls have both operands as activations) when it is there, else a one-block transformer
encoder built in code. Shows the library's round trip: `load_onnx` -> `DesignSpace` ->
`explore` -> results as plain data, CSV and JSON -> `map_layers` on one design.

Run: ``python examples/explore_transformer.py [--quick] [--model PATH] [--out DIR]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from pathlib import Path

import codesign

BERT = Path(__file__).resolve().parents[1] / "models" / "bert_base.onnx"


def encoder_block(seq: int = 128, d_model: int = 256, heads: int = 4, d_ff: int = 1024
                  ) -> codesign.LayerTable:
    """One transformer encoder block as MAC layers (the GEMM view of DESIGN.md): Q, K, V
    and output projections, the two attention MatMuls (heads in G), the feed-forward pair."""
    d_head = d_model // heads
    Layer = codesign.Layer
    return codesign.LayerTable.from_layers([
        *(Layer.gemm(M=seq, K=d_model, N=d_model, name=n, op_type="MatMul")
          for n in ("q", "k", "v")),
        Layer.gemm(M=seq, K=d_head, N=seq, batch=heads, name="scores", op_type="MatMul"),
        Layer.gemm(M=seq, K=seq, N=d_head, batch=heads, name="context", op_type="MatMul"),
        Layer.gemm(M=seq, K=d_model, N=d_model, name="out", op_type="MatMul"),
        Layer.gemm(M=seq, K=d_model, N=d_ff, name="ff1", op_type="MatMul"),
        Layer.gemm(M=seq, K=d_ff, N=d_model, name="ff2", op_type="MatMul"),
    ])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        default=bool(os.environ.get("CODESIGN_EXAMPLES_QUICK")),
                        help="tiny budget (what the tests run)")
    parser.add_argument("--model", default=str(BERT),
                        help="ONNX transformer (default: models/bert_base.onnx)")
    parser.add_argument("--out", help="output folder (default: a temporary one)")
    args = parser.parse_args(argv)

    if Path(args.model).exists():
        table = codesign.load_onnx(args.model)
        source = Path(args.model).name
    else:
        table = encoder_block()
        source = "an encoder block built in code"
    print(f"{source}: {table.n_mac_layers} MAC layers ({len(table)} unique), "
          f"{table.total_macs / 1e9:.2f} GMAC, {len(table.vector_ops)} vector ops")

    # a space for an edge transformer accelerator: 8..64 PEs a side, weight- or
    # output-stationary or flexible, 8 GB/s of DRAM (4 words/cycle at 16 bits, 1 GHz)
    space = codesign.DesignSpace(
        pe_rows=(8, 16, 32, 64), pe_cols=(8, 16, 32, 64),
        glb_words=(64 * 1024, 256 * 1024, 1024 * 1024),
        dataflows=("ws", "os", "flexible"), dram_bw=4.0)
    budget = (dict(population=6, generations=2, mapper_candidates=4, mapper_steps=1)
              if args.quick else dict(population=24, generations=12))
    out = Path(args.out or tempfile.mkdtemp(prefix="codesign-transformer-"))
    result = codesign.explore(table, space, objectives=("latency", "energy", "area"),
                              max_area_mm2=20.0, out=out, plot=False, seed=1, **budget)

    # results as plain data, CSV text and JSON text (explore also wrote them into `out`)
    data = result.to_dict()
    assert json.loads(result.to_json()) == json.loads(json.dumps(data))
    (out / "pareto_copy.csv").write_text(result.to_csv())
    print(f"{len(data['designs'])} Pareto designs in {result.run['wall_s']:.1f} s:")
    for row in result.rows():
        print(f"  {row['pe_rows']:>2}x{row['pe_cols']:<2} {row['dataflow']:<8} "
              f"{row['latency_s'] * 1e3:7.3f} ms  {row['energy_j'] * 1e3:7.3f} mJ  "
              f"{row['area_mm2']:6.2f} mm2  util {row['utilization']:.2f}")

    # the fastest design's accelerator, mapped again by the stand-alone mapper
    if result.pareto:
        fastest = min(result.pareto, key=lambda d: d.metrics["latency_s"])
        mapped = codesign.map_layers(table, fastest.accelerator, objective="latency",
                                     effort="fast", **(dict(n_candidates=8, n_steps=4)
                                                       if args.quick else {}))
        rows = mapped.to_rows()
        with open(out / "fastest_layers.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        (out / "fastest_mappings.json").write_text(json.dumps(mapped.to_dict(), indent=2))
        print(f"fastest design re-mapped: {mapped.latency_s * 1e3:.3f} ms "
              f"(explore found {fastest.metrics['latency_s'] * 1e3:.3f} ms)")
        for row in rows:
            print(f"  {row['names'].split()[0]:<40.40} x{row['count']:<3} {row['mapping']}")
    print(f"results in {out}: {', '.join(sorted(p.name for p in out.iterdir()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
