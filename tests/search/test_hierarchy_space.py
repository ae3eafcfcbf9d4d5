"""`HierarchySpace`: YAML over a base hierarchy, validation, genes -> `HierarchyBatch`."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from codesign.cost.levels import with_technology
from codesign.errors import ConfigError
from codesign.hierarchy.batch import HierarchyBatch
from codesign.hierarchy.levels import FanOut
from codesign.hierarchy.presets import eyeriss
from codesign.search.hierarchy_space import HierarchySpace, is_hierarchy_space

SPACE = {
    "base": "eyeriss",
    "levels": {"GLB": {"capacity_words": {"min": 8192, "max": 32768},   # 8, 16, 32 Ki
                       "shared_bw": [4, 12], "keeps": [["I", "O"], ["W", "I", "O"]]},
               "spad": {"partition_words": {"W": [64, 224], "I": 12}}},
    "fanouts": {"PE": {"x": {"min": 8, "max": 16}, "y": 12, "x_dims": [["P", "Q"], ["Q"]]}},
}


def test_ranges_lists_and_fixed_values():
    s = HierarchySpace.from_dict(SPACE)
    assert is_hierarchy_space(SPACE) and not is_hierarchy_space({"pe_rows": 4})
    assert s.gene_names == ("GLB_capacity_words", "GLB_shared_bw", "GLB_keeps",
                            "spad_W_partition_words", "PE_x", "PE_x_dims")
    assert "PE_y" in s.column_names and "spad_I_partition_words" in s.column_names
    # equal-width bins: 3 capacities -> [0, 1/3) [1/3, 2/3) [2/3, 1]
    idx = s.indices(np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0], [0.5, 1.0, 0.99, 1.0, 0.7, 0.6]]))
    assert idx.tolist() == [[0, 0, 0, 0, 0, 0], [1, 1, 1, 1, 1, 1]]


def test_genes_decode_to_the_hierarchy_they_name():
    s = HierarchySpace.from_dict(SPACE)
    genes = torch.tensor([[0.9, 0.9, 0.9, 0.0, 0.9, 0.9]], dtype=torch.float64)
    batch = s.decode(genes)
    base = eyeriss()
    nodes = []
    for n in base.nodes:
        if isinstance(n, FanOut):
            n = replace(n, x=16, y=12, x_dims=("Q",))
        elif n.name == "GLB":
            n = replace(n, capacity_words=32768, shared_bw=12.0, keeps=("W", "I", "O"))
        elif n.name == "spad":
            n = replace(n, partition_words={"W": 64, "I": 12, "O": 24})
        nodes.append(n)
    want = HierarchyBatch.of(with_technology(replace(base, nodes=tuple(nodes))))
    for k in ("capacity_words", "partition_words", "shared_bw", "keep", "fanout_xy",
              "axis_dims", "read_pj", "area_um2", "mac_pj", "compute_area_um2"):
        assert torch.equal(getattr(batch, k), getattr(want, k)), k
    assert s.values(genes.numpy())[0]["PE_x_dims"] == "Q"


def test_decoding_copies_nothing_from_the_host_after_the_first_generation(monkeypatch):
    """The base batch and the value tables are built once per device: a later decode makes
    no tensor from host data (on a GPU each such copy stalls the stream) and gives the
    same hierarchies as the first."""
    s = HierarchySpace.from_dict(SPACE)
    gen = torch.Generator().manual_seed(0)
    genes = torch.rand(5, s.n_genes, dtype=torch.float64, generator=gen)
    first = s.decode(genes)
    made = []
    real = torch.tensor
    monkeypatch.setattr(torch, "tensor", lambda *a, **k: made.append(a) or real(*a, **k))
    again = s.decode(genes)
    assert made == []
    for k in ("capacity_words", "partition_words", "shared_bw", "keep", "fanout_xy",
              "axis_dims", "read_pj", "fill_pj", "area_um2", "mac_pj"):
        assert torch.equal(getattr(first, k), getattr(again, k)), k
    assert replace(s, source="other")._cache == {}      # a copy builds its own tables


def test_envelope_holds_every_design():
    env = HierarchySpace.from_dict(SPACE).envelope()
    pe = env.fanouts[0]
    assert (pe.x, pe.y, pe.x_dims) == (16, 12, ("P", "Q"))
    assert env.levels[1].keeps == ("W", "I", "O")


def test_every_problem_in_one_line_with_did_you_mean():
    bad = {"base": "eyeriss", "levls": {},
           "levels": {"GBL": {"capacity_words": 4}, "PE": {},
                      "spad": {"capacity_words": 8, "keeps": [["W", "X"]]},
                      "DRAM": {"keeps": ["W"]}},
           "fanouts": {"PE": {"x": {"min": 5, "max": 7}, "z": 3, "y": [0]}}}
    with pytest.raises(ConfigError) as err:
        HierarchySpace.from_dict(bad, where="h.yaml")
    msg = str(err.value)
    assert "\n" not in msg and msg.startswith("h.yaml: ")
    for part in ("unknown key 'levls'; did you mean 'levels'?",
                 "levels.GBL: eyeriss has no such level; did you mean 'GLB'?",
                 "levels.PE: eyeriss has no such level ('PE' is a fan-out",
                 "levels.spad.capacity_words: spad has per-tensor partitions",
                 "unknown names ['X']", "outermost level DRAM keeps every tensor",
                 "no power of two between 5 and 7", "fanouts.PE.z: unknown parameter",
                 "fanouts.PE.y: expected a positive integer"):
        assert part in msg, part


def test_base_must_be_a_preset_or_a_file():
    with pytest.raises(ConfigError, match="did you mean 'eyeriss'"):
        HierarchySpace.from_dict({"base": "eyeris"})
