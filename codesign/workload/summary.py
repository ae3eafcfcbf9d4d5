"""What ``codesign inspect`` shows: a plain-data summary of an op graph and its text table."""

from __future__ import annotations

from collections import defaultdict

import networkx as nx

from codesign.workload.layer import DIMS
from codesign.workload.table import layer_table

__all__ = ["format_summary", "workload_summary"]


def workload_summary(graph: nx.DiGraph, fusion: bool = True) -> dict:
    """JSON-ready summary: per MAC layer, unique layers, vector ops by type, totals.

    ``totals.weight_bytes`` counts each parameter tensor read by a MAC op once (a tied
    embedding used twice counts once). Vector ops by type report ``fused`` (how many run on
    their producer's output stream, `codesign.workload.fusion`; none when ``fusion`` is off)
    and ``words``, the DRAM words the cost model charges them. Raises `WorkloadError` if
    there is no MAC op.
    """
    table = layer_table(graph, fusion=fusion)
    unique_index = {layer.shape_key: i for i, layer in enumerate(table.layers)}
    layers = []
    weight_tensors: dict[str, int] = {}
    for node, data in graph.nodes(data=True):
        layer = data["layer"]
        if layer is None:
            continue
        layers.append({
            "name": node, "op_type": data["op_type"],
            "dims": {d: getattr(layer, d) for d in DIMS},
            "stride": list(layer.stride), "dilation": list(layer.dilation),
            "macs": layer.macs, "weight_bytes": data["weight_bytes"],
            "input_bytes": data["input_bytes"], "output_bytes": data["output_bytes"],
            "unique_layer": unique_index[layer.shape_key],
        })
        weight_tensors.update(data.get("weight_tensors", {}))
    vectors: dict[str, dict[str, int]] = defaultdict(
        lambda: {"count": 0, "fused": 0, "elements": 0, "ops": 0, "bytes_in": 0,
                 "bytes_out": 0, "words": 0})
    for v in table.vector_ops:
        row = vectors[v.op_type]
        row["count"] += 1
        row["fused"] += bool(v.fused_into)
        row["words"] += v.words
        row["elements"] += v.elements
        row["ops"] += v.ops
        row["bytes_in"] += v.bytes_in
        row["bytes_out"] += v.bytes_out
    vector_rows = [{"op_type": k, **v} for k, v in
                   sorted(vectors.items(), key=lambda kv: (-kv[1]["ops"], kv[0]))]
    return {
        "model": graph.graph.get("source", ""),
        "inputs": {k: list(v) if v is not None else None
                   for k, v in graph.graph.get("inputs", {}).items()},
        "layers": layers,
        "unique_layers": [
            {"index": i, **layer.to_dict(), "macs": layer.macs, "count": count,
             "names": list(names)}
            for i, (layer, count, names) in enumerate(
                zip(table.layers, table.counts, table.names, strict=True))],
        "vector_ops": vector_rows,
        "unknown_ops": list(graph.graph.get("unknown_ops", [])),
        "totals": {
            "macs": table.total_macs,
            "mac_layers": table.n_mac_layers,
            "unique_layers": len(table),
            "weight_bytes": sum(weight_tensors.values()),
            "vector_ops": sum(r["count"] for r in vector_rows),
            "vector_op_ops": sum(r["ops"] for r in vector_rows),
            "vector_op_words": sum(r["words"] for r in vector_rows),
            "fusion": fusion,
        },
    }


def _size(n_bytes: int) -> str:
    for unit, scale in (("GB", 1 << 30), ("MB", 1 << 20), ("kB", 1 << 10)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} B"


def _count(n: int) -> str:
    for unit, scale in (("G", 10**9), ("M", 10**6), ("k", 10**3)):
        if n >= scale:
            return f"{n / scale:.2f} {unit}"
    return str(n)


def format_summary(summary: dict) -> str:
    """The human-readable table of a `workload_summary`."""
    header = ("name", "op", "N G K C P Q R S", "stride", "MACs", "weights", "input", "output")
    rows = [header]
    for row in summary["layers"]:
        dims = " ".join(str(row["dims"][d]) for d in DIMS)
        stride = "x".join(map(str, row["stride"]))
        rows.append((row["name"], row["op_type"], dims, stride, _count(row["macs"]),
                     _size(row["weight_bytes"]), _size(row["input_bytes"]),
                     _size(row["output_bytes"])))
    widths = [min(max(len(r[i]) for r in rows), 48) for i in range(len(header))]
    lines = [f"Model: {summary['model']}", ""]
    for r in rows:
        cells = [c if len(c) <= 48 else "…" + c[-47:] for c in r]
        lines.append("  ".join(c.ljust(w) if i < 4 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(cells, widths, strict=True))))
    if summary["vector_ops"]:
        fusion = "fused: run on the producer's output stream" if summary["totals"].get(
            "fusion", True) else "fusion off"
        lines += ["", f"Vector ops (non-MAC; {fusion}; DRAM words as costed):"]
        lines.append(f"  {'op':<22}{'count':>7}{'fused':>7}{'elements':>12}{'ops':>12}"
                     f"{'tensor bytes':>14}{'DRAM words':>12}")
        for v in summary["vector_ops"]:
            lines.append(f"  {v['op_type']:<22}{v['count']:>7}{v['fused']:>7}"
                         f"{_count(v['elements']):>12}{_count(v['ops']):>12}"
                         f"{_size(v['bytes_in'] + v['bytes_out']):>14}{_count(v['words']):>12}")
    t = summary["totals"]
    lines += ["", f"Totals: {_count(t['macs'])} MACs ({t['macs']}) in {t['mac_layers']} MAC "
              f"layers ({t['unique_layers']} unique shapes); weights {_size(t['weight_bytes'])}; "
              f"{t['vector_ops']} vector ops, {_count(t['vector_op_ops'])} ops"]
    return "\n".join(lines)
