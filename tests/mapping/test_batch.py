import torch

from codesign.arch.accelerator import Accelerator
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.mapping import Mapping
from codesign.workload.layer import Layer, LayerTable, VectorOp


def test_mapping_batch_round_trip_keeps_factors_and_orders():
    m1 = Mapping.from_json({"spatial": {"rows": {"C": 4}}, "temporal": {"GLB": {"K": 2, "P": 3}},
                            "order": {"GLB": ["P", "K"]}})
    m2 = Mapping.from_json({"temporal": {"DRAM": {"Q": 5}}})
    batch = MappingBatch.from_mappings([[m1, m2], [m2, m1]])
    assert batch.factors.shape == (2, 2, 5, 8) and batch.order.shape == (2, 2, 3, 8)
    assert batch.mapping(0, 0).to_json() == m1.to_json()
    assert batch.mapping(1, 0).to_json() == m2.to_json()
    # every order row is a permutation of the 8 dims
    assert torch.equal(batch.order.sort(-1).values, torch.arange(8).expand(2, 2, 3, 8))


def test_hardware_batch_marks_allowed_spatial_dims():
    hw = HardwareBatch.from_accelerators([Accelerator(dataflow="rs", pe_rows=12, pe_cols=14)])
    assert hw.pe_rows.tolist() == [12] and hw.pe_cols.tolist() == [14]
    # rs: rows <- R (index 6), cols <- P (index 4)
    assert hw.spatial_allowed[0, 0].nonzero().flatten().tolist() == [6]
    assert hw.spatial_allowed[0, 1].nonzero().flatten().tolist() == [4]


def test_workload_tensors_from_table():
    table = LayerTable.from_layers(
        [Layer.conv(K=4, C=3, P=5, Q=5, R=3, S=3, stride=2)] * 3,
        [VectorOp("a", "Add", 10, 80, 40, 10, words=30)])
    w = WorkloadTensors.from_table(table)
    assert w.dims.tolist() == [[1, 1, 4, 3, 5, 5, 3, 3]]
    assert w.stride.tolist() == [[2, 2]] and w.counts.tolist() == [3]
    assert w.vector_ops.tolist() == [10] and w.vector_words.tolist() == [30]


def test_to_mappings_matches_mapping_per_pair():
    m1 = Mapping.from_json({"spatial": {"cols": {"K": 2}}, "temporal": {"RF": {"C": 3, "R": 2}},
                            "order": {"RF": ["R", "C"]}})
    m2 = Mapping.from_json({"temporal": {"DRAM": {"Q": 5}}})
    batch = MappingBatch.from_mappings([[m1, m2], [m2, m1]])
    as_json = [[m.to_json() for m in row] for row in batch.to_mappings()]
    assert as_json == [[m1.to_json(), m2.to_json()], [m2.to_json(), m1.to_json()]]
    assert batch.to_mappings()[1][0] == batch.mapping(1, 0)


def test_hardware_batch_accelerator_round_trip():
    accs = [Accelerator(pe_rows=8, pe_cols=4, rf_words=32, glb_words=4096, glb_bw=16.0,
                        dram_bw=4.0, word_bits=8, clock_mhz=500.0, dataflow="os"),
            Accelerator(dataflow="flexible", systolic=True)]
    hw = HardwareBatch.from_accelerators(accs)
    assert [hw.accelerator(b) for b in range(2)] == accs
