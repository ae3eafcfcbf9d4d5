"""Tests for codesign/results/explain.py: bottlenecks, bottleneck mix and lower-bound gaps."""

from __future__ import annotations

import pytest

from codesign.arch.accelerator import Accelerator
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.bounds import lower_bounds
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.mapping import Mapping
from codesign.results.explain import EXPLAIN_COLUMNS, explain
from codesign.workload.layer import Layer, LayerTable

# Layer 0: gemm 4x4x4 (twice) with C on rows, K on cols, P over 4 GLB steps: compute 4
# cycles; DRAM moves W 16 + I 16 + O 16 = 48 words, at 8 words/cycle 6 cycles; GLB moves
# 96 words (each tensor written once and read once), at 32 words/cycle 3 cycles -> DRAM bound.
SMALL = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                           "temporal": {"GLB": {"P": 4}}})
# Layer 1: gemm 16x16x16 with the same unrolling and every other loop in the GLB (order
# K C P): compute 16*4*4 = 256 cycles; DRAM 3 x 256 = 768 words / 8 = 96 cycles. GLB (skip
# rule): W read 16 reloads x 16 words = 256, written 256; I read 256 reloads x 4 = 1024,
# written 256; O 256 reloads x 4 = 1024 updates, read 1024 - 256 + 256, written 1024; in all
# 3840 words / 32 = 120 cycles -> compute bound.
BIG = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                         "temporal": {"GLB": {"P": 16, "C": 4, "K": 4}},
                         "order": {"GLB": ["K", "C", "P"]}})


def _case():
    table = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4, name="a"),
                                    Layer.gemm(M=4, K=4, N=4, name="b"),
                                    Layer.gemm(M=16, K=16, N=16, name="c")])
    accs = [Accelerator(pe_rows=4, pe_cols=4, glb_bw=32.0, dram_bw=8.0, glb_words=1 << 16)]
    mappings = MappingBatch.from_mappings([[SMALL, BIG]])
    result = AnalyticalCostModel().evaluate(HardwareBatch.from_accelerators(accs),
                                            WorkloadTensors.from_table(table), mappings)
    return accs, table, result


def test_layers_name_their_bottleneck_and_sit_on_their_cycle_bound():
    accs, table, result = _case()
    _, layers = explain(accs, table, result)
    small, big = layers[0]
    assert small["bound"] == "dram"
    assert (small["compute_cycles"], small["glb_cycles"], small["dram_cycles"]) == (4, 3, 6)
    assert (small["macs"], small["dram_words"], small["glb_words"]) == (64, 48, 96)
    assert small["lower_bound"]["cycles"] == 6 and small["latency_gap"] == 1.0
    assert big["bound"] == "compute"
    assert (big["compute_cycles"], big["glb_cycles"], big["dram_cycles"]) == (256, 120, 96)
    assert big["lower_bound"]["cycles"] == 256 and big["latency_gap"] == 1.0
    assert set(small["energy_parts_pj"]) == {"RF", "GLB", "DRAM", "MAC", "leakage"}
    assert sum(small["energy_parts_pj"].values()) == pytest.approx(result.energy_pj[0, 0].item())


def test_energy_gap_is_actual_over_the_bound_and_above_one():
    # the small mapping refills the RFs more than the minimum (I: 4 reloads x 16 PEs = 64
    # words, the bound counts 16), so its energy is above the bound
    accs, table, result = _case()
    summary, layers = explain(accs, table, result)
    lb = lower_bounds(HardwareBatch.from_accelerators(accs), WorkloadTensors.from_table(table))
    small = layers[0][0]
    assert small["energy_gap"] == pytest.approx(result.energy_pj[0, 0].item()
                                                / lb["energy_pj"][0, 0].item())
    assert small["energy_gap"] > 1
    # network: layer 0 counts twice, no vector ops in this table
    network_lb = 2 * lb["energy_pj"][0, 0].item() + lb["energy_pj"][0, 1].item()
    assert summary[0]["energy_gap"] == pytest.approx(result.total_energy_pj[0].item()
                                                     / network_lb)


def test_bottleneck_mix_weights_cycles_by_layer_count():
    # DRAM-bound layer: 6 cycles x 2 occurrences = 12; compute-bound layer: 256 cycles
    accs, table, result = _case()
    (summary,), _ = explain(accs, table, result)
    assert tuple(summary) == EXPLAIN_COLUMNS
    assert summary["bound_compute_frac"] == pytest.approx(256 / 268)
    assert summary["bound_dram_frac"] == pytest.approx(12 / 268)
    assert summary["bound_glb_frac"] == 0.0
    assert summary["latency_gap"] == pytest.approx(1.0)   # every layer on its bound


def test_no_designs_gives_nothing():
    table = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4)])
    assert explain([], table, None) == ([], [])


def test_pareto_records_carry_the_explanation():
    from codesign.results.pareto import PARETO_COLUMNS, pareto_designs

    accs, table, result = _case()
    mappings = MappingBatch.from_mappings([[SMALL, BIG]])
    (design,) = pareto_designs(accs, table, mappings, result)
    assert set(EXPLAIN_COLUMNS) <= set(PARETO_COLUMNS)
    assert design.row()["bound_dram_frac"] == pytest.approx(12 / 268)
    assert design.layers[1]["lower_bound"]["cycles"] == 256
    assert design.layers[0]["names"] == ["a", "b"] and design.layers[0]["bound"] == "dram"


def test_vector_ops_count_in_both_network_actual_and_bound():
    """Vector ops have no mapping: their cycles are added to the actual latency and to the
    bound alike, so the network gap is (268 + v) / (268 + v) = 1 with both layers on their
    bounds (v = the vector cycles the model reports)."""
    from codesign.workload.layer import VectorOp

    accs, table, _ = _case()
    relu = VectorOp(name="relu", op_type="Relu", elements=4096, bytes_in=8192, bytes_out=8192,
                    ops=4096, words=8192)
    table = LayerTable(table.layers, table.counts, table.names, (relu,))
    result = AnalyticalCostModel().evaluate(HardwareBatch.from_accelerators(accs),
                                            WorkloadTensors.from_table(table),
                                            MappingBatch.from_mappings([[SMALL, BIG]]))
    v = result.vector_cycles.item()
    assert v > 0
    (summary,), _ = explain(accs, table, result)
    assert summary["latency_gap"] == pytest.approx(1.0)
    assert summary["bound_compute_frac"] == pytest.approx(256 / 268)   # MAC layers only
    # the vector ops' share of the network: v of 268 + v cycles, and of the energy likewise
    assert summary["vector_latency_frac"] == pytest.approx(v / (268 + v))
    assert summary["vector_energy_frac"] == pytest.approx(
        result.vector_energy_pj.item() / result.total_energy_pj.item())
    assert 0 < summary["vector_energy_frac"] < 1
