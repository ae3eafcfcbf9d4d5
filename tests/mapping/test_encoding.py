"""Gene decoding: valid by construction, batch-independent, and the obvious extremes."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from codesign.arch.accelerator import Accelerator, Dataflow
from codesign.mapping.batch import HardwareBatch, WorkloadTensors
from codesign.mapping.encoding import (
    decode_mapping_genes,
    n_mapping_genes,
    prime_factor_table,
    prime_factors,
    random_mappings,
    snap_spatial,
)
from codesign.mapping.mapping import FACTOR_LEVELS
from codesign.workload.layer import DIMS, Layer, LayerTable

ROWS, COLS = FACTOR_LEVELS.index("rows"), FACTOR_LEVELS.index("cols")
DRAM, GLB, RF = (FACTOR_LEVELS.index(lv) for lv in ("DRAM", "GLB", "RF"))

LAYERS = [
    Layer.conv(K=64, C=64, P=56, Q=56, R=3, S=3),
    Layer.gemm(M=197, K=768, N=768),  # prime token count
    Layer.depthwise(channels=32, P=7, Q=7, R=3, S=3, stride=2),
    Layer.conv(K=13, C=1, P=1, Q=1, N=7),  # all-prime dims
    Layer.conv(K=1, C=1, P=1, Q=1),  # a single MAC
]
ACCELERATORS = [
    Accelerator(),
    Accelerator(pe_rows=3, pe_cols=5, dataflow="ws"),
    Accelerator(pe_rows=1, pe_cols=1),
    Accelerator(pe_rows=7, pe_cols=2, dataflow="rs"),
    Accelerator(pe_rows=32, pe_cols=8, dataflow="os"),
]


def _tensors(layers=LAYERS, accelerators=ACCELERATORS):
    return (WorkloadTensors.from_table(LayerTable.from_layers(layers)),
            HardwareBatch.from_accelerators(accelerators))


def assert_valid(mappings, workload, hardware):
    """Coverage, array fit and allowed spatial dims for every (design, layer)."""
    f = mappings.factors  # [B, L, 5, D]
    assert (f >= 1).all()
    assert (f.prod(dim=2) >= workload.dims).all(), "a dim is not covered"
    assert (f[:, :, ROWS].prod(-1) <= hardware.pe_rows[:, None]).all()
    assert (f[:, :, COLS].prod(-1) <= hardware.pe_cols[:, None]).all()
    allowed = hardware.spatial_allowed[:, None]  # [B, 1, 2, D]
    assert ((f[:, :, [ROWS, COLS]] == 1) | allowed).all(), "unrolled a dim the dataflow forbids"
    assert (mappings.order.sort(dim=-1).values == torch.arange(len(DIMS))).all()


def test_gene_count_matches_layout():
    # 2x8 spatial keys + 2x8 spatial sizes + 8x16 prime levels + 3x8 order keys
    assert n_mapping_genes() == 16 + 16 + 128 + 24


def test_random_genes_decode_valid_everywhere():
    workload, hardware = _tensors()
    gen = torch.Generator().manual_seed(1)
    genes = torch.rand(len(ACCELERATORS), len(LAYERS), n_mapping_genes(), generator=gen)
    for _ in range(40):  # 200 random genomes per (design, layer)
        genes = torch.rand(genes.shape, generator=gen)
        assert_valid(decode_mapping_genes(genes, workload, hardware), workload, hardware)


def test_temporal_product_is_exact_and_padding_only_spatial():
    workload, hardware = _tensors()
    gen = torch.Generator().manual_seed(2)
    genes = torch.rand(len(ACCELERATORS), len(LAYERS), n_mapping_genes(), generator=gen)
    f = decode_mapping_genes(genes, workload, hardware).factors
    spatial = f[:, :, ROWS] * f[:, :, COLS]
    iters = -(-workload.dims // spatial)  # ceil(D / spatial)
    assert torch.equal(f[:, :, DRAM] * f[:, :, GLB] * f[:, :, RF], iters)


def test_batched_equals_one_at_a_time():
    workload, hardware = _tensors()
    gen = torch.Generator().manual_seed(3)
    genes = torch.rand(len(ACCELERATORS), len(LAYERS), n_mapping_genes(), generator=gen)
    whole = decode_mapping_genes(genes, workload, hardware)
    for b, acc in enumerate(ACCELERATORS):
        for l, layer in enumerate(LAYERS):
            w1, h1 = _tensors([layer], [acc])
            one = decode_mapping_genes(genes[b : b + 1, l : l + 1], w1, h1)
            assert torch.equal(one.factors[0, 0], whole.factors[b, l])
            assert torch.equal(one.order[0, 0], whole.order[b, l])


def test_zero_genes_put_everything_at_dram():
    # size genes 0 -> no unrolling; prime-level genes in [0, 1/3) -> DRAM.
    workload, hardware = _tensors()
    genes = torch.zeros(len(ACCELERATORS), len(LAYERS), n_mapping_genes())
    f = decode_mapping_genes(genes, workload, hardware).factors
    assert torch.equal(f[:, :, DRAM], workload.dims.expand_as(f[:, :, DRAM]))
    assert (f[:, :, [GLB, ROWS, COLS, RF]] == 1).all()


def test_one_genes_fill_the_array_then_the_rf():
    # Keys all equal -> dims claim the array in DIMS order (N G K ...). Rows (16): K takes 16
    # of 64. Cols (16): K takes the remaining 4, C then gets 16 // 4 = 4. Every prime factor
    # of the remaining trip counts (C: 64 / 4 = 16) goes to the RF (gene 1 -> RF).
    workload, hardware = _tensors([Layer.conv(K=64, C=64, P=1, Q=1)], [Accelerator()])
    genes = torch.ones(1, 1, n_mapping_genes())
    m = decode_mapping_genes(genes, workload, hardware).mapping(0, 0).to_json()
    assert m["spatial"] == {"rows": {"K": 16}, "cols": {"K": 4, "C": 4}}
    assert m["temporal"] == {"RF": {"C": 16}}


def test_prime_dim_is_padded_minimally():
    # 197 tokens: s = 16 -> ceil(197/16) = 13 iterations, and ceil(197/13) = 16, kept;
    # s = 19 -> ceil(197/19) = 11 iterations, which s = ceil(197/11) = 18 also gets -> 18.
    # A divisor stays itself: 8 of 64.
    got = snap_spatial(torch.tensor([16, 19, 8]), torch.tensor([197, 197, 64]))
    assert got.tolist() == [16, 18, 8]


@settings(max_examples=30, deadline=None)
@given(dims=st.lists(st.integers(1, 300), min_size=8, max_size=8),
       rows=st.integers(1, 20), cols=st.integers(1, 20),
       df_rows=st.sets(st.sampled_from(DIMS), min_size=1),
       df_cols=st.sets(st.sampled_from(DIMS), min_size=1), seed=st.integers(0, 2**31))
def test_valid_for_any_layer_and_array(dims, rows, cols, df_rows, df_cols, seed):
    layer = Layer(*dims)
    dataflow = Dataflow("custom", tuple(sorted(df_rows)), tuple(sorted(df_cols)))
    workload, hardware = _tensors([layer], [Accelerator(pe_rows=rows, pe_cols=cols,
                                                        dataflow=dataflow)])
    mappings = random_mappings(workload, hardware, 64, torch.Generator().manual_seed(seed))
    assert mappings.shape == (64, 1)
    assert_valid(mappings, workload, hardware.repeat_interleave(64))


def test_random_mappings_layout_and_seed():
    workload, hardware = _tensors()
    a = random_mappings(workload, hardware, 3, torch.Generator().manual_seed(7))
    b = random_mappings(workload, hardware, 3, torch.Generator().manual_seed(7))
    assert a.shape == (3 * len(ACCELERATORS), len(LAYERS))
    assert torch.equal(a.factors, b.factors) and torch.equal(a.order, b.order)
    # rows 3..5 belong to design 1 (3 x 5 ws): nothing beyond 3 rows, only C R S on rows
    assert (a.factors[3:6, :, ROWS].prod(-1) <= 3).all()
    assert (a.factors[3:6, :, ROWS][..., [0, 1, 2, 4, 5]] == 1).all()


@pytest.mark.parametrize("n", [2, 97, 1000])
def test_prime_factor_table_matches_trial_division(n):
    spf = prime_factor_table(n).tolist()
    for k in range(2, n + 1):
        assert spf[k] == next(p for p in range(2, k + 1) if k % p == 0)



@pytest.mark.parametrize("n", [16, 1 << 12])
def test_prime_factors_are_the_ascending_factorisation(n):
    # the cached table of factorisations against trial division, every value below n
    spf = prime_factor_table(n)
    got = prime_factors(torch.arange(n + 1), spf).tolist()
    for k in range(2, n + 1):
        primes, rest, p = [], k, 2
        while rest > 1:
            while rest % p == 0:
                primes.append(p)
                rest //= p
            p += 1
        assert got[k] == primes + [1] * (len(got[k]) - len(primes))


def test_a_table_too_large_to_keep_factors_by_division(monkeypatch):
    import codesign.mapping.encoding as encoding

    spf, values = prime_factor_table(1 << 10), torch.tensor([[1020, 1], [997, 64]])
    kept = prime_factors(values, spf)
    monkeypatch.setattr(encoding, "_MAX_FACTOR_TABLE", 16)
    assert torch.equal(prime_factors(values, spf), kept)
    assert kept[0, 0].tolist()[:5] == [2, 2, 3, 5, 17]  # 1020 = 2 * 2 * 3 * 5 * 17


def test_repeated_lookups_factor_a_number():
    spf = prime_factor_table(12)
    k, primes = torch.tensor(12), []
    while k > 1:
        primes.append(int(spf[k]))
        k = k // spf[k]
    assert primes == [2, 2, 3] and math.prod(primes) == 12


def test_wrong_gene_shape_is_rejected():
    workload, hardware = _tensors()
    with pytest.raises(ValueError, match="genes must be"):
        decode_mapping_genes(torch.zeros(5, 5, 3), workload, hardware)
