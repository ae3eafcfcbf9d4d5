"""Tests for codesign/results/pareto.py: Pareto records from a costed batch."""

from __future__ import annotations

import pytest

from codesign.arch.accelerator import Accelerator
from codesign.cost.analytical import AnalyticalCostModel
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.mapping import Mapping
from codesign.results.pareto import PARETO_COLUMNS, pareto_designs
from codesign.workload.layer import Layer, LayerTable


def test_records_carry_hardware_totals_and_per_layer_mappings():
    # a 4x4x4 GEMM, twice, on a 4x4 array: C on rows, K on cols, P over 4 GLB steps
    table = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4, name="a"),
                                    Layer.gemm(M=4, K=4, N=4, name="b")])
    mapping = Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                                 "temporal": {"GLB": {"P": 4}}})
    accs = [Accelerator(pe_rows=4, pe_cols=4, dataflow="ws"),
            Accelerator(pe_rows=8, pe_cols=8, dataflow="ws")]
    hw = HardwareBatch.from_accelerators(accs)
    mappings = MappingBatch.from_mappings([[mapping], [mapping]])
    result = AnalyticalCostModel().evaluate(hw, WorkloadTensors.from_table(table), mappings)
    designs = pareto_designs(accs, table, mappings, result)

    assert [d.index for d in designs] == [0, 1]
    first = designs[0]
    m = first.metrics
    assert m["edp_js"] == pytest.approx(m["energy_j"] * m["latency_s"])
    assert m["power_w"] == pytest.approx(m["energy_j"] / m["latency_s"])
    # useful MACs: 2 layers x 64; MAC slots: latency x 16 PEs (x 64 PEs for design 1)
    assert m["utilization"] == pytest.approx(128 / (m["latency_cycles"] * 16))
    assert designs[1].metrics["utilization"] == pytest.approx(
        128 / (designs[1].metrics["latency_cycles"] * 64))
    row = first.row()
    assert tuple(row) == PARETO_COLUMNS
    assert (row["pe_rows"], row["dataflow"]) == (4, "ws")
    (layer,) = first.layers
    assert layer["names"] == ["a", "b"] and layer["count"] == 2
    assert layer["mapping"] == mapping.to_json()
    assert layer["bound"] in ("compute", "glb", "dram") and layer["feasible"] is True
    assert first.to_dict()["accelerator"]["pe_rows"] == 4


def test_no_designs_gives_no_records():
    table = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4)])
    assert pareto_designs([], table, None, None) == []
