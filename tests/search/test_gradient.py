"""Tests for codesign/search/gradient.py: MGDA, the relaxation, projection, refine."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codesign.arch.space import DesignSpace
from codesign.cost.access_counts import reloads
from codesign.cost.analytical import AnalyticalCostModel, mapping_feasible
from codesign.mapping.batch import WorkloadTensors
from codesign.mapping.encoding import random_mappings
from codesign.search.archive import hypervolume, non_dominated_mask, normalisation_bounds
from codesign.search.gradient import (
    mgda_direction,
    min_norm_point,
    nearest_divisor,
    objective_gradients,
    project,
    refine,
    refine_run,
    relax,
    relaxed_cost,
    relaxed_objectives,
    smooth_max,
    soft_reloads,
    unrelax,
)
from codesign.search.problem import BatchEvaluator
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="c"),
                                Layer.gemm(M=4, K=32, N=12, name="fc")])
OBJECTIVES = ("latency", "energy", "area")


def _random_designs(n: int, seed: int):
    """``n`` random designs of the default space, each with a random valid mapping."""
    space = DesignSpace()
    wl = WorkloadTensors.from_table(TABLE)
    rng = np.random.default_rng(seed)
    hardware = space.decode(rng.random((n, space.n_genes)))
    gen = torch.Generator().manual_seed(seed)
    mappings = random_mappings(wl, hardware, 1, gen)
    return space, wl, hardware, mappings


def _frank_wolfe_norm(g: torch.Tensor, iters: int) -> torch.Tensor:
    """Reference: squared min norm over the hull by Frank-Wolfe with exact line search."""
    gram = g @ g.transpose(-1, -2)                                        # [B, K, K]
    w = torch.full(g.shape[:2], 1.0 / g.shape[1], dtype=g.dtype)
    for _ in range(iters):
        grad = (gram @ w.unsqueeze(-1)).squeeze(-1)                       # [B, K]
        s = torch.nn.functional.one_hot(grad.argmin(-1), g.shape[1]).to(g.dtype)
        d = s - w
        num = -(d * grad).sum(-1)
        den = torch.einsum("bk,bkl,bl->b", d, gram, d).clamp(min=1e-300)
        w = w + (num / den).clamp(0.0, 1.0).unsqueeze(-1) * d
    return torch.einsum("bk,bkl,bl->b", w, gram, w)


# -- min_norm_point / mgda_direction ---------------------------------------------------------
def test_min_norm_point_of_two_orthogonal_unit_vectors_is_their_midpoint():
    # |w1 e1 + w2 e2|^2 = w1^2 + w2^2 with w1 + w2 = 1: least at w = (1/2, 1/2)
    w = min_norm_point(torch.tensor([[[1.0, 0.0], [0.0, 1.0]]], dtype=torch.float64))
    assert w[0].tolist() == pytest.approx([0.5, 0.5])


def test_min_norm_point_on_a_vertex_when_the_affine_optimum_leaves_the_hull():
    # segment (1,0) + t (1,1), |.|^2 = (1+t)^2 + t^2, least at t = -1/2 < 0: clamp to t = 0
    w = min_norm_point(torch.tensor([[[1.0, 0.0], [2.0, 1.0]]], dtype=torch.float64))
    assert w[0].tolist() == pytest.approx([1.0, 0.0])


def test_min_norm_point_is_zero_when_gradients_oppose():
    # g and -2g: 2/3 g + 1/3 (-2g) = 0, a Pareto-stationary point
    w = min_norm_point(torch.tensor([[[1.0, 1.0], [-2.0, -2.0]]], dtype=torch.float64))
    assert w[0].tolist() == pytest.approx([2 / 3, 1 / 3])
    assert mgda_direction(torch.tensor([[[1.0, 1.0], [-2.0, -2.0]]])).abs().max() < 1e-6


@pytest.mark.parametrize("n_k", [2, 3, 5])
def test_min_norm_point_matches_frank_wolfe_on_random_gradients(n_k):
    g = torch.randn(16, n_k, 7, generator=torch.Generator().manual_seed(n_k),
                    dtype=torch.float64)
    w = min_norm_point(g)
    assert (w >= 0).all() and torch.allclose(w.sum(-1), torch.ones(16, dtype=torch.float64))
    ours = torch.einsum("bk,bkn->bn", w, g).pow(2).sum(-1)
    assert (ours <= _frank_wolfe_norm(g, iters=2000) + 1e-9).all()   # never worse than FW
    # optimality certificate of u = w G over the hull: g_k . u >= |u|^2 for every k
    u = torch.einsum("bk,bkn->bn", w, g)
    assert (torch.einsum("bkn,bn->bk", g, u) >= ours.unsqueeze(-1) - 1e-9).all()


def test_mgda_direction_never_increases_an_objective_on_random_gradients():
    g = torch.randn(64, 3, 20, generator=torch.Generator().manual_seed(1),
                    dtype=torch.float64)
    d = mgda_direction(g)
    slopes = torch.einsum("bkn,bn->bk", g, d)                             # [B, K]
    assert (slopes <= 1e-10).all()
    # optimality of the min-norm point u = -d: g_k . u >= |u|^2 for every k
    assert (slopes <= -(d * d).sum(-1, keepdim=True) + 1e-9).all()


# -- the relaxation on the real model --------------------------------------------------------
def test_relax_unrelax_gives_back_the_exact_objectives():
    space, wl, hardware, mappings = _random_designs(12, seed=3)
    model = AnalyticalCostModel()
    exact = model.evaluate(hardware, wl, mappings)
    theta, frame = relax(hardware, mappings, wl.dims, space)
    hw2, map2 = unrelax(theta, frame)
    again = model.evaluate(hw2, wl, map2)
    want = torch.log(torch.stack([exact.objectives()[n] for n in OBJECTIVES], -1))
    got = relaxed_objectives(again, wl.counts, OBJECTIVES, smooth_p=None)
    assert torch.allclose(got, want, rtol=1e-12, atol=1e-12)
    # the relaxed assembly (soft reloads) is the exact model at integer points
    soft = relaxed_objectives(relaxed_cost(hw2, wl, map2), wl.counts, OBJECTIVES, None)
    assert torch.allclose(soft, want, rtol=1e-12, atol=1e-12)
    assert torch.equal(again.feasible, exact.feasible)
    assert torch.equal(mapping_feasible(map2.factors, wl.dims, hw2),
                       mapping_feasible(mappings.factors, wl.dims, hardware))


def test_mgda_direction_is_a_descent_direction_of_every_objective_on_random_designs():
    space, wl, hardware, mappings = _random_designs(24, seed=5)
    theta, frame = relax(hardware, mappings, wl.dims, space)
    values, grads = objective_gradients(theta, frame, wl, OBJECTIVES)   # smooth
    d = mgda_direction(grads)                                             # [B, n]
    slopes = torch.einsum("bkn,bn->bk", grads, d)                         # [B, K]
    # non-positive up to rounding, relative to |g_k| |d|
    assert (slopes <= 1e-9 * grads.norm(dim=-1) * d.norm(dim=-1, keepdim=True) + 1e-300).all()
    # first order: a tiny step does not raise any (smooth) objective beyond O(h^2)
    h = 1e-6
    hw2, map2 = unrelax(theta + h * d, frame)
    after = relaxed_objectives(relaxed_cost(hw2, wl, map2), wl.counts, OBJECTIVES)
    scale = d.norm(dim=-1, keepdim=True) ** 2
    assert (after - values <= 1e-9 + 10 * h * h * scale).all()


def test_soft_reloads_equal_the_reload_rule_at_integer_factors():
    _, wl, hardware, mappings = _random_designs(64, seed=17)
    exact = reloads(mappings.factors, mappings.order)
    soft = soft_reloads(mappings.factors.to(torch.float64), mappings.order)
    assert torch.allclose(soft, exact.to(torch.float64), rtol=1e-12)


def test_soft_reloads_are_continuous_where_a_factor_leaves_1():
    # Input I (relevant dims N G C P Q R S, not K); GLB loops outer -> inner: K = 4, then
    # P. Exact rule for I above RF: P = 1 -> no relevant loop > 1 -> 1 reload; P = 2 -> the
    # innermost relevant loop is P, K outside it multiplies: 4 * 2 = 8. A step function of P.
    f = torch.ones(1, 5, 8, dtype=torch.float64)
    k, p = 2, 4                                     # DIMS = N G K C P Q R S
    f[0, 1, k] = 4.0
    order = torch.arange(8).repeat(1, 3, 1)         # outer -> inner N G K C P Q R S
    values = []
    for eps in (0.0, 1e-6, 0.5, 1.0):
        g = f.clone()
        g[0, 1, p] = 1.0 + eps
        values.append(float(soft_reloads(g, order)[0, 0, 1]))   # I above RF
    assert values[0] == pytest.approx(1.0)                     # exact: no relevant loop
    assert values[1] == pytest.approx(1.0, abs=1e-5)           # no jump at 1 + eps
    assert values[3] == pytest.approx(8.0)                     # exact: 4 * 2
    assert values[1] < values[2] < values[3]


def test_gradients_of_frozen_variables_are_zero():
    # a single allowed PE-rows value and temporal products of 1 leave nothing to move
    space = DesignSpace(pe_rows=(16,))
    _, wl, hardware, mappings = _random_designs(4, seed=7)
    hardware = space.decode(np.full((4, space.n_genes), 0.5))
    mappings = random_mappings(wl, hardware, 1, torch.Generator().manual_seed(2))
    theta, frame = relax(hardware, mappings, wl.dims, space)
    _, grads = objective_gradients(theta, frame, wl, OBJECTIVES)
    assert (grads[..., 0] == 0).all()                     # pe_rows is HW_PARAMS[0]
    assert (grads[..., 5:][~frame.free[:, None, 5:].expand_as(grads[..., 5:])] == 0).all()


def test_smooth_max_lies_between_max_and_n_to_the_1_over_p_times_max():
    a = torch.tensor([1.0, 5.0, 3.0], dtype=torch.float64)
    b = torch.tensor([2.0, 5.0, 1e-3], dtype=torch.float64)
    s = smooth_max(a, b, p=8.0)
    m = torch.maximum(a, b)
    assert (s >= m).all() and (s <= m * 2 ** (1 / 8) + 1e-12).all()
    assert float(s[1]) == pytest.approx(5.0 * 2 ** (1 / 8))   # equal bounds: the worst case
    assert float(s[2]) == pytest.approx(3.0, rel=1e-12)       # one bound dominates


def test_nearest_divisor_picks_by_log_distance_among_divisors():
    n = torch.tensor([12, 12, 12, 7, 7, 1, 56])
    v = torch.tensor([5.0, 4.4, 0.2, 2.0, 3.0, 9.0, 10.0])
    # 12 (1 2 3 4 6 12): 5 -> 6 (|ln 6/5| = 0.18 < |ln 5/4| = 0.22); 4.4 -> 4 (0.10);
    #   0.2 -> 1 (values below 1 count as 1).
    # 7 (1 7): 2 -> 1 (|ln 2| = 0.69 < |ln 3.5| = 1.25); 3 -> 7 (|ln 7/3| = 0.85 < ln 3 = 1.10).
    # 1 (1): 9 -> 1. 56 (1 2 4 7 8 14 28 56): 10 -> 8 (|ln 10/8| = 0.22 < |ln 14/10| = 0.34).
    assert nearest_divisor(n, v).tolist() == [6, 4, 1, 1, 7, 1, 8]


# -- projection ------------------------------------------------------------------------------
def test_projection_gives_valid_designs_from_any_relaxed_point():
    space, wl, hardware, mappings = _random_designs(32, seed=11)
    theta, frame = relax(hardware, mappings, wl.dims, space)
    noisy = theta + 3.0 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(0),
                                      dtype=torch.float64)
    values, factors = project(noisy, frame, wl, space)
    for i, p in enumerate(("pe_rows", "pe_cols", "rf_words", "glb_words", "glb_bw")):
        assert set(values[:, i].tolist()) <= {float(v) for v in space.choices(p)}
    covered = (factors.prod(-2) >= wl.dims).all()
    assert covered
    assert (factors >= 1).all()
    # spatial factors untouched
    assert torch.equal(factors[..., 2:4, :], mappings.factors[..., 2:4, :])


def test_projection_of_an_unmoved_design_keeps_its_sizes_and_coverage():
    space, wl, hardware, mappings = _random_designs(16, seed=13)
    theta, frame = relax(hardware, mappings, wl.dims, space)
    values, factors = project(theta, frame, wl, space)
    exact = AnalyticalCostModel().evaluate(hardware, wl, mappings)
    fits = exact.feasible.all(-1)
    # a design that already held its mappings keeps its sizes (needs are met)
    assert torch.equal(values[fits, 0].to(torch.int64), hardware.pe_rows[fits])
    assert torch.equal(values[fits, 3].to(torch.int64), hardware.glb_words[fits])
    # factors: same coverage, never more padding than before
    assert (factors.prod(-2) <= mappings.factors.prod(-2)).all()
    assert (factors.prod(-2) >= wl.dims).all()


# -- refine ----------------------------------------------------------------------------------
def _evaluator():
    return BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(TABLE),
                          AnalyticalCostModel(), OBJECTIVES, mode="nested")


def test_refine_keeps_the_archive_feasible_non_dominated_and_exact():
    from codesign.search.run import Budget, run_search
    from codesign.search.strategies import strategy

    ev = _evaluator()
    state = run_search(ev, strategy("nested"), "nsga2", Budget(population=8, generations=2),
                       seed=0)
    archive = state.archive
    lo, hi = normalisation_bounds(archive.objectives)
    hv_before = hypervolume(archive.objectives, lo, hi)
    stats = refine(ev, archive, n_steps=2)
    assert stats.n_steps >= 1 and stats.n_evals > 0
    assert non_dominated_mask(archive.objectives).all()
    assert hypervolume(archive.objectives, lo, hi) >= hv_before - 1e-12
    # every archived row costs again exactly to its recorded objectives and is feasible
    _, _, result = ev.cost(archive.hw_genes, archive.factors, archive.order)
    objs, _, feasible = ev.outputs(result)
    assert feasible.all()
    np.testing.assert_allclose(objs.numpy(), archive.objectives, rtol=1e-12)


def test_refine_with_zero_steps_changes_nothing():
    ev = _evaluator()
    x = np.random.default_rng(0).random((6, ev.n_var))
    evaluation = ev.evaluate(x)
    from codesign.search.archive import Archive

    archive = Archive.empty(3, ev.space.n_genes, ev.n_layers)
    archive.update(evaluation.objectives, evaluation.feasible, evaluation.hw_genes,
                   evaluation.factors, evaluation.order)
    before = archive.objectives.copy()
    stats = refine(ev, archive, n_steps=0)
    assert stats.n_evals == 0 and np.array_equal(archive.objectives, before)


def test_refine_run_accounts_for_refinement_as_a_phase_of_the_run():
    from codesign.search.run import Budget, run_search
    from codesign.search.strategies import strategy

    ev = _evaluator()
    state = run_search(ev, strategy("joint"), "nsga2", Budget(population=8, generations=2),
                       seed=0)
    evals, rows, seen = state.n_evals, len(state.history), []
    stats = refine_run(state, ev, n_steps=1, on_generation=lambda s, g: seen.append(g.phase))
    assert state.n_evals == evals + stats.n_evals
    assert len(state.history) == rows + 1 and state.history[-1]["phase"] == "refine"
    assert state.history[-1]["n_pareto"] == len(state.archive)
    assert seen == ["refine"]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gradients_and_projection_on_cuda_match_cpu():
    space, wl, hardware, mappings = _random_designs(8, seed=19)
    theta, frame = relax(hardware, mappings, wl.dims, space)
    _, grads = objective_gradients(theta, frame, wl, OBJECTIVES)
    values, factors = project(theta + 0.7, frame, wl, space)
    cuda = torch.device("cuda")
    wl_c = wl.to(cuda)
    theta_c, frame_c = relax(hardware.to(cuda), mappings.to(cuda), wl_c.dims, space)
    _, grads_c = objective_gradients(theta_c, frame_c, wl_c, OBJECTIVES)
    values_c, factors_c = project(theta_c + 0.7, frame_c, wl_c, space)
    assert torch.allclose(grads_c.cpu(), grads, rtol=1e-9, atol=1e-12)
    assert torch.equal(values_c.cpu(), values) and torch.equal(factors_c.cpu(), factors)
