"""`HierarchySpace.relaxed_batch`: a differentiable decode that equals `decode` on genes."""

import math

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.hierarchy.batch import HierarchyBatch
from codesign.hierarchy.mapspace import MapSpace
from codesign.hierarchy.model import nest_cost
from codesign.search.hierarchy_space import HierarchySpace
from codesign.workload.layer import Layer

SPACE = {
    "base": "eyeriss",
    "levels": {"GLB": {"capacity_words": {"min": 8192, "max": 32768},   # 8, 16, 32 Ki
                       "shared_bw": [4, 12], "keeps": [["I", "O"], ["W", "I", "O"]]},
               "spad": {"partition_words": {"W": [64, 224], "I": [12, 24]},
                        "word_bits": [8, 16]}},
    "fanouts": {"PE": {"x": {"min": 8, "max": 16}, "y": [6, 12],
                       "x_dims": [["P", "Q"], ["Q"]]}},
}
FIELDS = ("capacity_words", "partition_words", "read_bw", "write_bw", "shared_bw",
          "word_bits", "read_pj", "fill_pj", "update_pj", "leak_pj", "area_um2", "keep",
          "fanout_xy", "axis_dims", "hop_pj", "mac_pj", "compute_area_um2")


def _space() -> HierarchySpace:
    return HierarchySpace.from_dict(SPACE)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.lists(st.floats(0, 1), min_size=9, max_size=9), min_size=1, max_size=4))
def test_relaxed_batch_of_gene_values_is_decode_bit_for_bit(rows):
    s = _space()
    genes = torch.tensor(rows, dtype=torch.float64)
    want, got = s.decode(genes), s.relaxed_batch(s.relaxed_values(genes))
    for k in FIELDS:
        a, b = getattr(want, k), getattr(got, k)
        assert torch.equal(a, b.to(a.dtype)), k
        assert b.dtype == (torch.float64 if k in ("word_bits", "fanout_xy") else a.dtype), k
    assert got.varied_keep == want.varied_keep
    assert torch.equal(got.area_mm2, want.area_mm2)


def test_relaxed_values_are_natural_units_and_choice_indices():
    s = _space()
    assert s.gene_names == ("GLB_capacity_words", "GLB_shared_bw", "GLB_keeps",
                            "spad_W_partition_words", "spad_I_partition_words",
                            "spad_word_bits", "PE_x", "PE_y", "PE_x_dims")
    values = s.relaxed_values(torch.zeros(1, s.n_genes, dtype=torch.float64))
    first = dict(zip(s.gene_names, values[0].tolist(), strict=True))
    assert first == {"GLB_capacity_words": 8192, "GLB_shared_bw": 4, "GLB_keeps": 0,
                     "spad_W_partition_words": 64, "spad_I_partition_words": 12,
                     "spad_word_bits": 8, "PE_x": 8, "PE_y": 6, "PE_x_dims": 0}
    last = s.relaxed_values(torch.ones(1, s.n_genes, dtype=torch.float64))[0].tolist()
    assert last == [32768, 12, 1, 224, 24, 16, 16, 12, 1]


def _nests(s: HierarchySpace, designs: HierarchyBatch):
    layer = Layer(N=1, G=1, K=16, C=8, P=7, Q=7, R=3, S=3)
    space = MapSpace(s.envelope(), [layer]).with_designs(designs)
    genes = space.random(designs.n_designs, 3, torch.Generator().manual_seed(0))
    return space, space.decode(genes)


def test_nest_cost_on_the_relaxed_batch_is_decodes_bit_for_bit():
    s = _space()
    genes = torch.rand(3, s.n_genes, generator=torch.Generator().manual_seed(1),
                       dtype=torch.float64)
    want = s.decode(genes)
    space, nests = _nests(s, want)
    stride, dilation, dims = space.rows(3)        # one layer, 3 candidates per design
    a = nest_cost(want, nests, stride, dilation, dims=dims)
    b = nest_cost(s.relaxed_batch(s.relaxed_values(genes)), nests, stride, dilation,
                  dims=dims)
    assert a.feasible.any()
    for k in ("cycles", "energy_pj", "level_energy_pj", "leak_pj", "compute_energy_pj",
              "feasible", "capacity_excess", "area_mm2"):
        assert torch.equal(getattr(a, k), getattr(b, k)), k


def _fd(fn, values: torch.Tensor, i: int, h: float = 1e-6) -> float:
    """Central difference of ``ln fn`` in ``ln values[0, i]``."""
    up, down = values.clone(), values.clone()
    up[0, i] *= math.exp(h)
    down[0, i] *= math.exp(-h)
    return (math.log(float(fn(up))) - math.log(float(fn(down)))) / (2 * h)


def test_area_and_access_energy_follow_the_sizes_through_autograd():
    """GLB (16 Ki x 16 bit = 32 KiB: SRAM piece) and spad (W 64 + I 12 + O 24 = 100 words x
    8 bit = 100 B: register-file piece) energies and the area move with capacity, word width
    and the PE array; autograd agrees with central differences in log space."""
    s = _space()
    names = list(s.gene_names)
    values = torch.tensor([[16384, 4, 0, 64, 12, 8, 8, 6, 0]], dtype=torch.float64)
    outputs = {
        "area": lambda v: s.relaxed_batch(v).area_mm2[0],
        "GLB_read_pj": lambda v: s.relaxed_batch(v).read_pj[0, 1],
        "spad_read_pj": lambda v: s.relaxed_batch(v).read_pj[0, 2],
        "mac_pj": lambda v: s.relaxed_batch(v).mac_pj[0],
    }
    for out, fn in outputs.items():
        x = values.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(torch.log(fn(x)), x, allow_unused=True)
        grad = torch.zeros_like(values) if grad is None else grad
        elastic = (grad * values)[0]                    # d ln f / d ln x
        for i, name in enumerate(names):
            if name in ("GLB_keeps", "PE_x_dims"):
                assert elastic[i] == 0.0, (out, name)
                continue
            assert math.isclose(float(elastic[i]), _fd(fn, values, i), rel_tol=1e-5,
                                abs_tol=1e-8), (out, name)
    x = values.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(s.relaxed_batch(x).area_mm2[0], x)
    by_name = dict(zip(names, grad[0].tolist(), strict=True))
    assert by_name["GLB_capacity_words"] > 0 and by_name["PE_x"] > 0 and by_name["PE_y"] > 0
    assert by_name["spad_word_bits"] > 0 and by_name["GLB_shared_bw"] == 0


def test_straight_through_costs_are_exact_and_bandwidth_reaches_the_cycles():
    """``straight_through`` changes no number (ceil's values) but lets a bandwidth's
    gradient through the cycle bound: at 1 word per cycle the GLB limits some nests (its
    words / 1 exceed the compute cycles), and there d cycles / d shared_bw < 0, where the
    plain ceil gives exactly 0."""
    s = HierarchySpace.from_dict({"base": "eyeriss",
                                  "levels": {"GLB": {"shared_bw": [1, 2]}}})
    genes = torch.zeros(4, s.n_genes, dtype=torch.float64)
    exact = s.decode(genes)
    space, nests = _nests(s, exact)
    stride, dilation, dims = space.rows(3)
    want = nest_cost(exact, nests, stride, dilation, dims=dims)
    x = s.relaxed_values(genes).clone().requires_grad_(True)
    got = nest_cost(s.relaxed_batch(x), nests, stride, dilation, dims=dims,
                    straight_through=True)
    for k in ("cycles", "energy_pj", "feasible", "area_mm2"):
        assert torch.equal(getattr(want, k), getattr(got, k)), k
    glb = s.base.level_names.index("GLB")
    bound = want.level_cycles[..., glb] >= want.cycles            # the GLB sets the cycles
    assert bound.any()
    (grad,) = torch.autograd.grad(got.cycles[bound].sum(), x)
    assert (grad < 0).all()
    y = s.relaxed_values(genes).clone().requires_grad_(True)
    plain = nest_cost(s.relaxed_batch(y), nests, stride, dilation, dims=dims)
    (flat,) = torch.autograd.grad(plain.cycles[bound].sum(), y)
    assert (flat == 0).all()
