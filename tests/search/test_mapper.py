"""The batched mapper: exhaustive-optimum quality, validity, determinism, infeasible ranking."""

import itertools
import json

import numpy as np
import pytest
import torch

from codesign.arch.accelerator import Accelerator
from codesign.cost.analytical import AnalyticalCostModel
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.encoding import (
    decode_mapping_genes,
    n_mapping_genes,
    prime_factor_table,
    random_mappings,
)
from codesign.mapping.mapping import FACTOR_LEVELS, Mapping
from codesign.mapping.validate import mapping_problems
from codesign.search.mapper import (
    fit_to_array,
    layer_objective,
    map_layers,
    mapping_summary,
    search_mappings,
)
from codesign.search.mapper_moves import MoveRng, mutate
from codesign.search.mapper_seeds import N_SEEDS, fill_buffers, seed_mappings
from codesign.workload.layer import DIMS, Layer, LayerTable

DRAM, GLB, RF = (FACTOR_LEVELS.index(lv) for lv in ("DRAM", "GLB", "RF"))

# 10 small layers x 5 small designs = 50 (design, layer) pairs whose whole mapping space
# (about 0.5 M mappings) is enumerated below. Tiny RF/GLB sizes make capacity bind.
LAYERS = [
    Layer.gemm(M=4, K=6, N=8), Layer.conv(K=8, C=4, P=4, Q=2), Layer.conv(K=4, C=2, P=4, Q=1, R=3),
    Layer.conv(K=2, C=3, P=2, Q=2, R=2), Layer.conv(K=8, C=4, P=3, Q=1),
    Layer.depthwise(channels=4, P=4, Q=1, R=3, S=1), Layer.conv(K=6, C=1, P=6, Q=1, N=2),
    Layer.gemm(M=9, K=4, N=4), Layer.conv(K=4, C=4, P=2, Q=1, R=3, stride=2),
    Layer.gemm(M=5, K=4, N=6),
]
ACCELERATORS = [
    Accelerator(pe_rows=2, pe_cols=2, rf_words=8, glb_words=64),
    Accelerator(pe_rows=4, pe_cols=2, rf_words=16, glb_words=128, dataflow="ws"),
    Accelerator(pe_rows=2, pe_cols=4, rf_words=6, glb_words=48, dataflow="os"),
    Accelerator(pe_rows=4, pe_cols=4, rf_words=12, glb_words=96, glb_bw=4.0, dram_bw=1.0),
    Accelerator(pe_rows=3, pe_cols=2, rf_words=4, glb_words=32, dataflow="is"),
]
TABLE = LayerTable(tuple(LAYERS), (1,) * len(LAYERS), tuple((f"l{i}",) for i in range(10)))


@pytest.fixture
def one_thread():
    """Small tensors: intra-op threads only add synchronisation on a shared 2-core box."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


# -- exhaustive enumeration (the reference) ------------------------------------------------


def _triples(k):
    """Ordered (DRAM, GLB, RF) factorisations of k."""
    return [(a, b, k // (a * b)) for a in range(1, k + 1) if k % a == 0
            for b in range(1, k // a + 1) if (k // a) % b == 0]


def _efficient(rem, cap):
    """Spatial factors up to cap with minimal padding (every divisor of rem among them)."""
    return sorted({-(-rem // -(-rem // s)) for s in range(1, min(rem, cap) + 1)})


def _dim_options(size, on_rows, on_cols, acc):
    opts = []
    for sr in (_efficient(size, acc.pe_rows) if on_rows else [1]):
        rem = -(-size // sr)
        for sc in (_efficient(rem, acc.pe_cols) if on_cols else [1]):
            opts.extend((dram, glb, sr, sc, rf) for dram, glb, rf in _triples(-(-rem // sc)))
    return np.array(opts, dtype=np.int64)  # [O, 5] in FACTOR_LEVELS order


def enumerate_space(layer, acc):
    """Every mapping without temporal padding, with every distinct DRAM and GLB loop order
    (the RF order does not change v1 counts: reloads only walk loops above a level).

    Returns factors ``[N, 5, D]`` and order ``[N, 3, D]``.
    """
    active = [i for i in range(8) if layer.dims[i] > 1]
    opts = [_dim_options(layer.dims[i], DIMS[i] in acc.dataflow.rows,
                         DIMS[i] in acc.dataflow.cols, acc) for i in active]
    grids = np.meshgrid(*[np.arange(len(o)) for o in opts], indexing="ij")
    f = np.ones((grids[0].size, 5, 8), dtype=np.int64)
    for j, i in enumerate(active):
        f[:, :, i] = opts[j][grids[j].ravel()]
    f = f[(f[:, 2].prod(-1) <= acc.pe_rows) & (f[:, 3].prod(-1) <= acc.pe_cols)]
    perms = list(itertools.permutations(active))
    canonical = []  # per level [N, P]: perm p is the one representative for row n's busy dims
    for slot in (0, 1):  # DRAM, GLB
        busy = f[:, slot] > 1
        ok = np.zeros((len(f), len(perms)), bool)
        for k, p in enumerate(perms):
            b = busy[:, list(p)]
            idle_then_busy = ((np.cumsum(~b, axis=1) > 0) & b).any(1)
            idle_unsorted = np.zeros(len(f), bool)
            for x, y in itertools.combinations(range(len(p)), 2):
                if p[x] > p[y]:
                    idle_unsorted |= ~b[:, x] & ~b[:, y]
            ok[:, k] = ~idle_then_busy & ~idle_unsorted  # busy first, idle ones ascending
        canonical.append(ok)
    rows, p_dram, p_glb = np.nonzero(canonical[0][:, :, None] & canonical[1][:, None, :])
    table = np.array([list(p) + [d for d in range(8) if d not in p] for p in perms])
    order = np.stack([table[p_dram], table[p_glb], np.tile(np.arange(8), (len(rows), 1))], 1)
    return torch.from_numpy(f[rows]), torch.from_numpy(order)


def exhaustive_best(layer, acc, objective):
    factors, order = enumerate_space(layer, acc)
    workload = WorkloadTensors.from_table(LayerTable.from_layers([layer]))
    hardware = HardwareBatch.from_accelerators([acc]).repeat_interleave(len(factors))
    result = AnalyticalCostModel().evaluate(
        hardware, workload, MappingBatch(factors.unsqueeze(1), order.unsqueeze(1)))
    value = torch.where(result.feasible, layer_objective(result, objective), torch.inf)
    return float(value.min())


def test_enumeration_counts_a_hand_example():
    # K = 2 on a 2 x 2 flexible array: rows 1 / cols 1 leaves 2 to split over
    # (DRAM, GLB, RF): 3 ways; rows 1 / cols 2: 1; rows 2: 1 -> 5 mappings, one loop each.
    factors, _ = enumerate_space(Layer.gemm(M=1, K=1, N=2), Accelerator(pe_rows=2, pe_cols=2))
    assert len(factors) == 5
    # K = C = 2 with the array at 1 x 1: 3 x 3 factor splits; both at DRAM (1 split of
    # 9) or both at GLB (1) have 2 loop orders, the other 7 one -> 9 + 2 = 11.
    factors, _ = enumerate_space(Layer.gemm(M=1, K=2, N=2), Accelerator(pe_rows=1, pe_cols=1))
    assert len(factors) == 11


@pytest.mark.slow
def test_within_two_percent_of_exhaustive_optimum(one_thread):
    """Default effort, all 50 pairs in one batched call: >= 95% within 2% of the optimum."""
    workload = WorkloadTensors.from_table(TABLE)
    hardware = HardwareBatch.from_accelerators(ACCELERATORS)
    mappings, result = search_mappings(hardware, workload, AnalyticalCostModel(), "edp",
                                       generator=torch.Generator().manual_seed(0))
    found = torch.where(result.feasible, layer_objective(result, "edp"), torch.inf)
    best = torch.tensor([[exhaustive_best(layer, acc, "edp") for layer in LAYERS]
                         for acc in ACCELERATORS], dtype=found.dtype)
    assert torch.isfinite(best).all()
    ratio = found / best
    assert (ratio >= 1 - 1e-9).sum() >= 45, "the enumeration should hold (almost) all optima"
    assert int((ratio <= 1.02).sum()) >= 48, ratio
    # never an invalid mapping: coverage, array, dataflow and capacity all check out
    for b, acc in enumerate(ACCELERATORS):
        for l, layer in enumerate(LAYERS):
            assert mapping_problems(layer, acc, mappings.mapping(b, l)) == []


def test_same_seed_same_mappings(one_thread):
    workload = WorkloadTensors.from_table(TABLE)
    hardware = HardwareBatch.from_accelerators(ACCELERATORS[:2])

    def run(seed):
        m, _ = search_mappings(hardware, workload, AnalyticalCostModel(), "latency",
                               n_candidates=16, n_steps=8,
                               generator=torch.Generator().manual_seed(seed))
        return m

    a, b = run(3), run(3)
    assert torch.equal(a.factors, b.factors) and torch.equal(a.order, b.order)


def test_map_layers_is_reproducible_and_plain(one_thread):
    first = map_layers(TABLE, ACCELERATORS[0], objective="energy", device="cpu", seed=5,
                       effort="fast")
    again = map_layers(TABLE, ACCELERATORS[0], objective="energy", device="cpu", seed=5,
                       effort="fast")
    assert first.mappings == again.mappings
    data = json.loads(json.dumps(first.to_dict()))
    assert len(data["layers"]) == 10 and data["objective"] == "energy"
    assert Mapping.from_json(data["layers"][0]["mapping"]) == first.mappings[0]
    rows = first.to_rows()
    assert [r["names"] for r in rows] == [f"l{i}" for i in range(10)]
    assert {r["bottleneck"] for r in rows} <= {"compute", "glb", "dram"}
    assert all(r["feasible"] for r in rows)
    # network totals are the per-layer values weighted by counts (all 1, no vector ops)
    assert first.total_energy_pj == pytest.approx(sum(first.energy_pj))
    assert first.latency_cycles == pytest.approx(sum(first.cycles))


def test_nothing_fits_returns_least_excess_not_an_error():
    # An RF of 2 words cannot hold the smallest tile, 1 word each of W, I and O (3 words):
    # every mapping is infeasible and the best excess is 3 - 2 = 1 word.
    acc = Accelerator(pe_rows=2, pe_cols=2, rf_words=2, glb_words=1024)
    table = LayerTable.from_layers([Layer.gemm(M=4, K=4, N=4)])
    result = map_layers(table, acc, device="cpu", effort="fast")
    assert result.feasible == (False,)
    hardware = HardwareBatch.from_accelerators([acc])
    mappings = MappingBatch.from_mappings([list(result.mappings)])
    cost = AnalyticalCostModel().evaluate(hardware, WorkloadTensors.from_table(table), mappings)
    assert float(cost.capacity_excess[0, 0]) == 1.0


def test_never_worse_than_the_all_dram_seed(one_thread):
    # Everything at DRAM is a seed and always fits here; elitism keeps at least as good.
    workload = WorkloadTensors.from_table(TABLE)
    hardware = HardwareBatch.from_accelerators([ACCELERATORS[3]])
    _, result = search_mappings(hardware, workload, AnalyticalCostModel(), "edp",
                                n_candidates=8, n_steps=2,
                                generator=torch.Generator().manual_seed(0))
    dram_only = [[Mapping(temporal={"DRAM": {d: getattr(layer, d) for d in DIMS}})
                  for layer in LAYERS]]
    seed_cost = AnalyticalCostModel().evaluate(hardware, workload,
                                               MappingBatch.from_mappings(dram_only))
    assert seed_cost.feasible.all()
    assert (layer_objective(result, "edp") <= layer_objective(seed_cost, "edp")).all()


def test_elitist_never_loses_the_best_of_the_start(one_thread):
    # The start population is drawn first, so the same seed gives the same start with 0 or
    # 12 steps; truncation keeps the best, so 12 steps can only rank better or equal.
    workload = WorkloadTensors.from_table(TABLE)
    hardware = HardwareBatch.from_accelerators(ACCELERATORS[:3])

    def best(n_steps):
        _, result = search_mappings(hardware, workload, AnalyticalCostModel(), "energy",
                                    n_candidates=6, n_steps=n_steps,
                                    generator=torch.Generator().manual_seed(11))
        assert result.feasible.all()
        return layer_objective(result, "energy")

    start, later = best(0), best(12)
    assert (later <= start).all() and (later < start).any()


def test_moves_keep_coverage_array_fit_and_dataflow():
    layers = [Layer.conv(K=64, C=64, P=56, Q=56, R=3, S=3), Layer.gemm(M=197, K=768, N=768),
              Layer.conv(K=13, C=7, P=1, Q=1)]
    accs = [Accelerator(), Accelerator(pe_rows=3, pe_cols=5, dataflow="ws"),
            Accelerator(pe_rows=7, pe_cols=2, dataflow="rs")]
    workload = WorkloadTensors.from_table(LayerTable.from_layers(layers))
    hardware = HardwareBatch.from_accelerators(accs)
    gen = torch.Generator().manual_seed(0)
    n = 64
    start = random_mappings(workload, hardware, n, gen)  # [3 * 64, 3]
    f, order = start.factors.flatten(0, 1), start.order.flatten(0, 1)  # pairs [P, ...]
    dims = workload.dims.repeat(len(accs) * n, 1)
    hw = hardware.repeat_interleave(n * len(layers))
    array = torch.stack([hw.pe_rows, hw.pe_cols], 1)
    spf = prime_factor_table(768 + 256)
    moved = 0
    for _ in range(30):
        f_new, order_new = mutate(f, order, dims, array, hw.spatial_allowed, spf, MoveRng(gen))
        changed = (f_new != f).flatten(1).any(1) | (order_new != order).flatten(1).any(1)
        moved += int(changed.sum())
        f, order = f_new, order_new
        assert (f >= 1).all() and (f.prod(1) >= dims).all()
        assert (f[:, 2].prod(-1) <= hw.pe_rows).all() and (f[:, 3].prod(-1) <= hw.pe_cols).all()
        assert ((f[:, 2:4] == 1) | hw.spatial_allowed).all()
        assert (order.sort(-1).values == torch.arange(8)).all()
    assert moved > 30 * len(f) // 2  # most pairs do move


def test_fill_buffers_grows_tiles_while_they_fit():
    # [1 x 4] @ [4 x 4]: C = K = 4, everything else 1, on a 1 x 1 array. Order S R C K ...:
    # RF: C 2 -> W 2 + I 2 + O 1 = 5 <= 9, C 4 -> 4 + 4 + 1 = 9 <= 9, then K 2 -> 8 + 4 + 2
    # = 14 > 9: stop. GLB (box RF x GLB): K 2 -> 14 <= 20, K 4 -> 16 + 4 + 4 = 24 > 20.
    layer = Layer.gemm(M=1, K=4, N=4)
    acc = Accelerator(pe_rows=1, pe_cols=1, rf_words=9, glb_words=20)
    workload = WorkloadTensors.from_table(LayerTable.from_layers([layer]))
    hardware = HardwareBatch.from_accelerators([acc])
    everything_at_dram = MappingBatch.from_mappings(
        [[Mapping(temporal={"DRAM": {"K": 4, "C": 4}})]]).factors
    # two candidates in one call, each in its own dim order; K first: RF K 2 -> 2 + 1 + 2
    # = 5, K 4 -> 4 + 1 + 4 = 9, then C 2 -> 8 + 2 + 4 = 14 > 9; GLB: C 2 -> 14 <= 20,
    # C 4 -> 24 > 20
    filled = fill_buffers(everything_at_dram.unsqueeze(1).expand(-1, 2, -1, -1, -1),
                           workload, hardware, prime_factor_table(8),
                           [tuple("SRCKQPNG"), tuple("KCSRQPNG")])
    order = torch.zeros(1, 1, 3, 8, dtype=torch.int64)
    got = [MappingBatch(filled[:, k], order).mapping(0, 0).temporal for k in range(2)]
    assert got == [{"DRAM": {"K": 2}, "GLB": {"K": 2}, "RF": {"C": 4}},
                   {"DRAM": {"C": 2}, "GLB": {"C": 2}, "RF": {"K": 4}}]


def _fill_oracle(factors, layer, acc, order):
    """`fill_buffers` for one mapping in plain ints: prime by prime, while the tile fits."""
    from codesign.mapping.footprint import tile_boxes, tile_words

    f = [list(row) for row in factors]
    dram, glb, rf = (FACTOR_LEVELS.index(lv) for lv in ("DRAM", "GLB", "RF"))
    for slot, cap in ((rf, acc.rf_words), (glb, acc.glb_words)):
        for name in order:
            d = DIMS.index(name)
            rest, p = f[dram][d], 2
            while rest > 1:
                while rest % p:
                    p += 1
                f[slot][d] *= p
                box = tile_boxes(f)[2 if slot == glb else 0]
                if sum(tile_words(*box, layer.stride, layer.dilation)) > cap:
                    f[slot][d] //= p
                    break
                rest //= p
                f[dram][d] //= p
    return f


def test_fill_buffers_matches_a_scalar_greedy_fill():
    layers = [Layer.conv(K=64, C=48, P=28, Q=28, R=3, S=3), Layer.gemm(M=197, K=96, N=60),
              Layer.conv(K=32, C=16, P=14, Q=14, R=5, S=5, stride=2)]
    accs = [Accelerator(pe_rows=4, pe_cols=2, rf_words=80, glb_words=5000),
            Accelerator(pe_rows=3, pe_cols=5, dataflow="ws", rf_words=300, glb_words=90000)]
    workload = WorkloadTensors.from_table(LayerTable.from_layers(layers))
    hardware = HardwareBatch.from_accelerators(accs)
    start = random_mappings(workload, hardware, 1, torch.Generator().manual_seed(3)).factors
    start[:, :, DRAM] *= start[:, :, GLB] * start[:, :, RF]  # temporal factors at DRAM
    start[:, :, GLB] = start[:, :, RF] = 1
    orders = [tuple("SRCKQPNG"), tuple("KCSRQPNG"), tuple("PQNGKCRS")]
    got = fill_buffers(start.unsqueeze(1).expand(-1, 3, -1, -1, -1), workload, hardware,
                        prime_factor_table(4096), orders)
    for b, acc in enumerate(accs):
        for i, layer in enumerate(layers):
            for k, order in enumerate(orders):
                assert got[b, k, i].tolist() == _fill_oracle(start[b, i].tolist(), layer, acc,
                                                             order)
    assert (got[:, :, :, [GLB, RF]] > 1).any()  # something did move
    # N and G are 1 in every layer: skipping their turns changes nothing
    skipped = fill_buffers(start.unsqueeze(1).expand(-1, 3, -1, -1, -1), workload, hardware,
                            prime_factor_table(4096), orders, frozenset("NG"))
    assert torch.equal(skipped, got)


def _seed_genes_oracle(workload, n_b):
    """The classic seeds as genes (how the mapper used to write them): keys largest dims
    first; (spatial size gene, level gene of every prime) per seed, None = split."""
    n_l = workload.n_layers
    dims = workload.dims.to(torch.float64)
    keys = 1.0 - dims / dims.max(-1, keepdim=True).values
    seeds = []
    for sizes, levels in [(1.0, 0.0), (0.0, 0.0), (1.0, 0.0), (1.0, 0.0), (1.0, 0.5),
                          (1.0, 1.0), (1.0, None)]:
        g = torch.full((n_l, n_mapping_genes()), 0.5, dtype=torch.float64)
        g[:, 0:16] = keys.repeat(1, 2)
        g[:, 16:32] = sizes
        prime = torch.full((n_l, 8, 16), 0.5 if levels is None else levels,
                           dtype=torch.float64)
        if levels is None:
            prime[:, [DIMS.index("R"), DIMS.index("S")]] = 1.0
        g[:, 32:160] = prime.flatten(1)
        seeds.append(g)
    return torch.stack(seeds).unsqueeze(0).expand(n_b, -1, -1, -1)


@pytest.mark.parametrize("n_seeds", [1, 3, N_SEEDS])
def test_seed_mappings_are_the_decoded_classic_seeds(n_seeds):
    layers = [Layer.conv(K=64, C=64, P=56, Q=56, R=3, S=3), Layer.gemm(M=197, K=768, N=768),
              Layer.depthwise(channels=32, P=7, Q=7, R=3, S=3, stride=2)]
    accs = [Accelerator(), Accelerator(pe_rows=3, pe_cols=5, dataflow="ws", rf_words=64)]
    workload = WorkloadTensors.from_table(LayerTable.from_layers(layers))
    hardware = HardwareBatch.from_accelerators(accs)
    spf = prime_factor_table(2048)
    genes = _seed_genes_oracle(workload, 2)
    want = decode_mapping_genes(genes.flatten(0, 1), workload,
                                hardware.repeat_interleave(N_SEEDS), spf=spf)
    want = want.factors.view(2, N_SEEDS, 3, 5, 8).clone()
    for i, order in ((0, "SRCKQPNG"), (2, "KCSRQPNG")):  # seeds 0 and 2 grow their tiles
        want[:, i] = fill_buffers(want[:, i : i + 1], workload, hardware, spf,
                                   [tuple(order)])[:, 0]
    greedy = decode_mapping_genes(genes[:, 0], workload, hardware, spf=spf).factors
    got = seed_mappings(greedy, workload, hardware, spf, n_seeds)
    assert torch.equal(got, want[:, :n_seeds])


def test_mapping_summary_lists_levels_inner_to_outer():
    m = Mapping.from_json({"spatial": {"rows": {"C": 16}, "cols": {"K": 16}},
                           "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"C": 4, "P": 14, "Q": 14},
                                        "DRAM": {"K": 4}},
                           "order": {"GLB": ["C", "P", "Q"]}})
    assert mapping_summary(m) == "rows C16 cols K16 | RF R3S3 | GLB C4P14Q14 | DRAM K4"
    assert mapping_summary(Mapping()) == "-"


@pytest.mark.parametrize("kwargs, match", [({"objective": "speed"}, "objective"),
                                           ({"effort": "max"}, "effort"),
                                           ({"device": "tpu"}, "device")])
def test_bad_options_are_config_errors(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        map_layers(TABLE, ACCELERATORS[0], **kwargs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_maps_validly_and_reproducibly():
    a = map_layers(TABLE, ACCELERATORS[0], device="cuda", seed=1, effort="fast")
    b = map_layers(TABLE, ACCELERATORS[0], device="cuda", seed=1, effort="fast")
    assert a.mappings == b.mappings
    for layer, mapping in zip(LAYERS, a.mappings, strict=True):
        assert mapping_problems(layer, ACCELERATORS[0], mapping) == []


# -- warm start ----------------------------------------------------------------------------


def test_fit_to_array_keeps_coverage_and_makes_mappings_valid_on_other_designs():
    # Mappings found for a large flexible array, carried to small fixed-dataflow ones with
    # buffers large enough for any tile: after the repair only capacity could be wrong, and
    # moving factors from the array to DRAM shrinks tiles, so every mapping is valid.
    workload = WorkloadTensors.from_table(TABLE)
    big = HardwareBatch.from_accelerators([Accelerator(pe_rows=8, pe_cols=8, rf_words=4096,
                                                       glb_words=1 << 20, dataflow="flexible")])
    found, _ = search_mappings(big, workload, AnalyticalCostModel(), "latency",
                               n_candidates=8, n_steps=4,
                               generator=torch.Generator().manual_seed(0))
    targets = [Accelerator(pe_rows=r, pe_cols=c, rf_words=4096, glb_words=1 << 20, dataflow=df)
               for r, c, df in ((2, 2, "ws"), (4, 2, "os"), (3, 2, "is"), (2, 4, "rs"))]
    hardware = HardwareBatch.from_accelerators(targets)
    factors = found.factors.to(torch.int64).unsqueeze(1).expand(len(targets), 1, -1, -1, -1)
    fitted = fit_to_array(factors, hardware)
    assert torch.equal(fitted.prod(-2), factors.prod(-2))  # every dim's product kept
    for b, acc in enumerate(targets):
        repaired = MappingBatch(fitted[b], found.order)
        for i, layer in enumerate(LAYERS):
            assert mapping_problems(layer, acc, repaired.mapping(0, i)) == [], (acc, i)
    # a mapping that already fits comes back unchanged
    assert torch.equal(fit_to_array(factors[:1], big), factors[:1])


def test_known_mappings_are_never_lost():
    # The mapper's best mappings from a long run, handed to a 0-step run as one initial
    # candidate per design: elitist ranking returns mappings at least as good per layer.
    workload = WorkloadTensors.from_table(TABLE)
    hardware = HardwareBatch.from_accelerators(ACCELERATORS)
    model = AnalyticalCostModel()
    strong, strong_cost = search_mappings(hardware, workload, model, "edp", n_candidates=16,
                                          n_steps=20, generator=torch.Generator().manual_seed(1))
    known = (strong.factors.to(torch.int64).unsqueeze(1), strong.order.unsqueeze(1))
    _, cold = search_mappings(hardware, workload, model, "edp", n_candidates=4, n_steps=0,
                              generator=torch.Generator().manual_seed(2))
    _, warm = search_mappings(hardware, workload, model, "edp", n_candidates=4, n_steps=0,
                              generator=torch.Generator().manual_seed(2), initial=known)
    target = layer_objective(strong_cost, "edp")
    assert (layer_objective(warm, "edp") <= target * (1 + 1e-12)).all()
    assert (layer_objective(cold, "edp") > target * (1 + 1e-9)).any()  # the start alone is worse
    two = (known[0].repeat(1, 2, 1, 1, 1), known[1].repeat(1, 2, 1, 1, 1))  # k = 2
    with pytest.raises(ConfigError, match="fewer than n_candidates"):
        search_mappings(hardware, workload, model, "edp", n_candidates=2, n_steps=0,
                        generator=torch.Generator(), initial=two)
