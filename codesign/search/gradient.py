"""Gradient refinement: MGDA steps on a continuous relaxation of designs, then back to the grid.

Evolutionary search finds the region; gradients polish it. A design (hardware sizes plus its
per-layer mappings) is relaxed to a real vector ``theta`` (`relax`):

- ``log2`` of the hardware sizes `HW_PARAMS` (PE rows, PE cols, RF words, GLB words, GLB
  bandwidth), so one unit is one step of a powers-of-two design space;
- ``log2`` of the GLB and RF temporal factors of every (layer, dim); the DRAM factor takes the
  rest, ``f_DRAM = T / (f_GLB f_RF)`` with ``T`` the design's temporal product of that dim,
  so the relaxed tiling always covers the layer (the coverage constraint cannot be violated
  by a step). Spatial factors, loop orders and the dataflow stay as they are (discrete).

The objectives are evaluated through the cost model with float sizes and factors, optionally
with a smooth maximum of the compute, GLB and DRAM cycle bounds (`smooth_max`, only in this
relaxed path; the exact model's numbers never change). `refine` steps along the MGDA common
descent direction (`mgda_direction`: minus the minimum-norm point of the convex hull of the
objectives' gradients, so no objective gets worse to first order), tries a few step lengths,
projects every candidate to the nearest valid discrete design (`project`), re-costs it
exactly and keeps what the archive does not dominate. docs/COST_MODEL.md, "Continuous
relaxation", states the relaxation; docs/PERFORMANCE.md, "Gradient refinement", measures it.

Shapes: ``B`` designs, ``K`` objectives, ``n`` relaxed variables (``5 + L * 2 * D``), ``L``
unique layers, ``D = 8`` dims, ``T`` step lengths.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from codesign.arch.space import HW_GENES, NUMERIC_GENES, DesignSpace
from codesign.arch.technology import Technology
from codesign.cost.access_counts import relevance, tiles
from codesign.cost.analytical import evaluate_batch
from codesign.cost.model import CostResult
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.search.archive import non_dominated_mask
from codesign.workload.tensors import ceil_div

__all__ = [
    "HW_PARAMS",
    "RefineStats",
    "RelaxedFrame",
    "accept_step",
    "min_norm_point",
    "nearest_divisor",
    "mgda_direction",
    "objective_gradients",
    "project",
    "refine",
    "refine_run",
    "relax",
    "relaxed_cost",
    "relaxed_objectives",
    "smooth_max",
    "soft_reloads",
    "unrelax",
]

#: Hardware sizes that the relaxation makes continuous, in ``theta`` order.
HW_PARAMS: tuple[str, ...] = NUMERIC_GENES
#: Default step lengths of `refine`, in units of one doubling of the largest-moving variable.
DEFAULT_LENGTHS: tuple[float, ...] = (0.5, 1.0, 2.0, 3.0)
#: Default number of MGDA steps of `refine` (each: one gradient pass, one exact batch).
DEFAULT_STEPS = 6
#: Default exponent of the smooth maximum of the cycle bounds (`smooth_max`).
DEFAULT_SMOOTH_P = 12.0

_DRAM, _GLB, _ROWS, _COLS, _RF = range(5)
_N_HW = len(HW_PARAMS)
_DATAFLOW_GENE = HW_GENES.index("dataflow")


# -- MGDA ------------------------------------------------------------------------------------
def min_norm_point(grads: torch.Tensor, tol: float = 1e-9) -> torch.Tensor:
    """Weights of the minimum-norm point of the convex hull of each design's K gradients.

    Exact, batched: for every non-empty subset of the gradients the affine minimum-norm
    point (KKT system of ``min |w G|^2`` s.t. ``sum w = 1``) is solved for all designs at once;
    of the solutions with ``w >= 0`` the one of least norm is the answer (the optimum lies in
    the relative interior of some face, where it is that face's affine minimiser). ``2^K - 1``
    small solves: meant for ``K <= 5`` objectives.

    Shape:
        grads: ``[B, K, n]``; returns weights ``[B, K]`` (non-negative, summing to 1).

    >>> g = torch.tensor([[[1.0, 0.0], [0.0, 1.0]]])
    >>> min_norm_point(g).round(decimals=6).tolist()
    [[0.5, 0.5]]
    """
    g = grads.to(torch.float64)
    n_b, n_k = g.shape[0], g.shape[1]
    gram = g @ g.transpose(-1, -2)                                        # [B, K, K]
    best_w = torch.zeros(n_b, n_k, dtype=g.dtype, device=g.device)
    best_w[:, 0] = 1.0
    best_norm = torch.full((n_b,), math.inf, dtype=g.dtype, device=g.device)
    scale = gram.diagonal(dim1=-2, dim2=-1).amax(-1).clamp(min=1e-300)   # [B]
    for size in range(1, n_k + 1):
        for subset in itertools.combinations(range(n_k), size):
            idx = torch.tensor(subset, device=g.device)
            m = gram.index_select(-2, idx).index_select(-1, idx) / scale[:, None, None]
            kkt = torch.zeros(n_b, size + 1, size + 1, dtype=g.dtype, device=g.device)
            kkt[:, :size, :size] = m
            kkt[:, :size, size] = 1.0
            kkt[:, size, :size] = 1.0
            rhs = torch.zeros(n_b, size + 1, 1, dtype=g.dtype, device=g.device)
            rhs[:, size] = 1.0
            sol = (torch.linalg.pinv(kkt) @ rhs).squeeze(-1)[:, :size]     # [B, s]
            w = torch.zeros(n_b, n_k, dtype=g.dtype, device=g.device)
            w[:, idx] = sol
            ok = (sol >= -tol).all(-1) & ((sol.sum(-1) - 1.0).abs() < 1e-6)
            w = w.clamp(min=0.0)
            w = w / w.sum(-1, keepdim=True).clamp(min=1e-300)
            norm = torch.einsum("bk,bkl,bl->b", w, gram, w)               # [B]
            better = ok & (norm < best_norm * (1.0 - 1e-12))
            best_w = torch.where(better.unsqueeze(-1), w, best_w)
            best_norm = torch.where(better, norm, best_norm)
    return best_w


def mgda_direction(grads: torch.Tensor, normalize: bool = False, zero_tol: float = 1e-9
                   ) -> torch.Tensor:
    """The MGDA common descent direction ``-sum_k w_k g_k`` (``w`` from `min_norm_point`).

    Its directional derivative ``g_k . d <= -|d|^2 <= 0`` for every objective ``k``: no
    objective gets worse to first order; ``d = 0`` exactly at Pareto-stationary points.
    ``normalize`` runs MGDA on unit gradients ``g_k / |g_k|`` instead (zero gradients stay
    zero): the signs of ``g_k . d`` are the same, so ``d`` is still a common descent
    direction, but an objective with a small gradient no longer takes nearly all the weight
    (plain MGDA's min-norm point sits next to the shortest gradient). A gradient shorter
    than ``zero_tol`` is rounding noise and counts as zero: that objective is stationary,
    so the design is Pareto-stationary and ``d = 0``.

    Shape:
        grads: ``[B, K, n]``; returns ``[B, n]``.

    >>> g = torch.tensor([[[2.0, 0.0], [0.0, 2.0]]])
    >>> mgda_direction(g).tolist()
    [[-1.0, -1.0]]
    """
    norm = grads.norm(dim=-1, keepdim=True)                               # [B, K, 1]
    grads = torch.where(norm < zero_tol, torch.zeros_like(grads), grads)
    if normalize:
        grads = grads / norm.clamp(min=zero_tol)
    w = min_norm_point(grads)                                             # [B, K]
    return -(w.unsqueeze(-1).to(grads.dtype) * grads).sum(-2)


# -- the relaxation --------------------------------------------------------------------------
@dataclass(frozen=True)
class RelaxedFrame:
    """What stays discrete while ``theta`` moves, for ``B`` designs.

    Shape:
        hardware: the integer `HardwareBatch` of the designs (dataflow, word width, DRAM
            bandwidth, clock come from it).
        spatial: ``[B, L, 2, D]`` float spatial factors (rows, cols).
        temporal_total: ``[B, L, D]`` float product of the three temporal factors.
        order: ``[B, L, 3, D]`` loop orders.
        free: ``[B, n]`` bool: variables a step may move (a size with one allowed value and a
            dim with temporal product 1 stay put).
        dims: ``[L, D]`` int64 layer bounds.
    """

    hardware: HardwareBatch
    spatial: torch.Tensor
    temporal_total: torch.Tensor
    order: torch.Tensor
    free: torch.Tensor
    dims: torch.Tensor

    @property
    def n_layers(self) -> int:
        return self.spatial.shape[1]


def relax(hardware: HardwareBatch, mappings: MappingBatch, dims: torch.Tensor,
          space: DesignSpace | None = None) -> tuple[torch.Tensor, RelaxedFrame]:
    """Integer designs to their relaxed vector ``theta`` and the frame that holds the rest.

    ``unrelax(*relax(...))`` gives back the same sizes and factors (as floats). With a
    ``space``, sizes that have a single allowed value are not free.

    Shape:
        hardware: ``[B]``; mappings: ``[B, L]``; dims: ``[L, D]``.
        returns: theta ``[B, n]`` float64 with ``n = 5 + L * 2 * D``, and a `RelaxedFrame`.
    """
    dtype = torch.float64
    f = mappings.factors.to(dtype)                                        # [B, L, 5, D]
    n_b, n_l, _, n_d = f.shape
    sizes = torch.stack([getattr(hardware, p).to(dtype) for p in HW_PARAMS], dim=-1)
    hw_theta = torch.log2(sizes)                                          # [B, 5]
    inner = torch.log2(f[..., [_GLB, _RF], :])                            # [B, L, 2, D]
    theta = torch.cat([hw_theta, inner.flatten(1)], dim=-1)               # [B, n]
    total = f[..., _DRAM, :] * f[..., _GLB, :] * f[..., _RF, :]           # [B, L, D]
    hw_free = torch.ones(n_b, _N_HW, dtype=torch.bool, device=f.device)
    if space is not None:
        single = torch.tensor([len(space.choices(p)) <= 1 for p in HW_PARAMS],
                              device=f.device)
        hw_free &= ~single
    factor_free = (total > 1).unsqueeze(-2).expand(n_b, n_l, 2, n_d).flatten(1)
    frame = RelaxedFrame(
        hardware=hardware, spatial=f[..., [_ROWS, _COLS], :], temporal_total=total,
        order=mappings.order, free=torch.cat([hw_free, factor_free], dim=-1), dims=dims)
    return theta, frame


def unrelax(theta: torch.Tensor, frame: RelaxedFrame, workload: WorkloadTensors | None = None,
            smooth_p: float | None = None) -> tuple[HardwareBatch, MappingBatch]:
    """A relaxed vector to float hardware and mappings (differentiable in ``theta``).

    With ``workload``, sizes are fitted to what the mappings need: PE rows, PE cols, RF and
    GLB words become ``max(size, need)`` (`smooth_max` with ``smooth_p``, the hard max with
    ``None``), ``need`` the largest spatial product or tile sum over layers. A size never
    limits the relaxed model (capacity is a constraint, which the step cannot see
    otherwise): shrinking a buffer below its tiles gains nothing, and shrinking tiles lets
    the buffer shrink with them. A design that holds its mappings is unchanged by the hard
    max.

    Shape:
        theta: ``[B, n]``; returns a `HardwareBatch` ``[B]`` with float sizes and a
        `MappingBatch` ``[B, L]`` with float factors.
    """
    n_b, n_l = theta.shape[0], frame.n_layers
    sizes = _snap(torch.exp2(theta[:, :_N_HW]))                           # [B, 5]
    inner = _snap(torch.exp2(theta[:, _N_HW:].reshape(n_b, n_l, 2, -1)))  # [B, L, 2, D]
    glb, rf = inner[..., 0, :], inner[..., 1, :]
    dram = _snap(frame.temporal_total / (glb * rf))                       # [B, L, D]
    rows, cols = frame.spatial[..., 0, :], frame.spatial[..., 1, :]
    factors = torch.stack([dram, glb, rows, cols, rf], dim=-2)            # [B, L, 5, D]
    named = {p: sizes[:, i] for i, p in enumerate(HW_PARAMS)}
    if workload is not None:
        tile = tiles(factors, workload.stride, workload.dilation)         # [B, L, 4, T]
        needs = {"pe_rows": rows.prod(-1), "pe_cols": cols.prod(-1),      # [B, L] each
                 "rf_words": tile[..., 0, :].sum(-1), "glb_words": tile[..., 2, :].sum(-1)}
        for p, need in needs.items():
            most = need.amax(-1)                                          # [B]
            named[p] = (torch.maximum(named[p], most) if smooth_p is None
                        else smooth_max(named[p], most, p=smooth_p))
    hardware = replace(frame.hardware, **named)
    return hardware, MappingBatch(factors, frame.order)


def _snap(x: torch.Tensor) -> torch.Tensor:
    """Values within float rounding of an integer become that integer (the gradient is left
    alone), so that ``exp2(log2(3)) * ...`` round trips give the exact model's factors:
    the reload rule tests ``factor > 1``, where ``1 + 1e-16`` would count as a real loop."""
    near = torch.round(x)
    close = (x - near).abs() <= 1e-9 * near.abs().clamp(min=1.0)
    return x + torch.where(close, near - x, torch.zeros_like(x)).detach()


def smooth_max(*bounds: torch.Tensor, p: float = DEFAULT_SMOOTH_P) -> torch.Tensor:
    """``(sum_i x_i^p)^(1/p)``: a smooth upper bound of ``max_i x_i`` for positive ``x``,
    at most ``n^(1/p)`` times it (equal bounds) and equal to it when one bound dominates.

    Shape:
        bounds: tensors of one shape; returns that shape.

    >>> round(float(smooth_max(torch.tensor(3.0), torch.tensor(4.0), p=2.0)), 6)
    5.0
    """
    x = torch.stack(bounds, dim=0)
    m = x.amax(0).detach().clamp(min=1e-300)
    return m * ((x / m) ** p).sum(0) ** (1.0 / p)


def soft_reloads(factors: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """The reload rule of `codesign.cost.access_counts.reloads`, continuous in the factors.

    The exact rule multiplies a temporal loop's factor into a tensor's reloads when some
    relevant loop at or inside it has a factor > 1, a step function of the factors. Here a
    loop is active by ``s(f) = clamp(f - 1, 0, 1)`` and loop ``j`` contributes
    ``f_j ** a_j`` with ``a_j = 1 - prod_{i at or inside j, relevant} (1 - s(f_i))``. At
    integer factors (1, or >= 2) ``s`` is 0 or 1 and the result equals the exact rule; in
    between it moves continuously, so a factor leaving 1 does not jump the reloads.

    Shape:
        factors: ``[..., F, D]`` float; order: ``[..., M, D]``; returns ``[..., 2, T]``.
    """
    rel = relevance(factors.device).to(factors.dtype)                     # [T, D]
    parts = []
    for slot, m in ((_GLB, 1), (_DRAM, 0)):
        f = factors[..., slot, :].gather(-1, order[..., m, :])            # [..., D] outer->inner
        rel_ord = rel[:, order[..., m, :]].movedim(0, -2)                 # [..., T, D]
        q = 1.0 - rel_ord * (f.unsqueeze(-2) - 1.0).clamp(0.0, 1.0)       # [..., T, D]
        inside = q.flip(-1).cumprod(-1).flip(-1)                          # prod over i >= j
        a = 1.0 - inside                                                  # [..., T, D]
        partial = torch.exp((a * torch.log(f).unsqueeze(-2)).sum(-1))     # [..., T]
        total = f.prod(-1, keepdim=True)                                  # [..., 1]
        parts.append((partial, a[..., 0], total))  # a[..., 0]: some loop of the level counts
    (p_glb, hit_glb, _), (p_dram, _, t_dram) = parts
    # above RF: the GLB loops, then all DRAM loops if a GLB loop counted, else the rule again
    above_rf = p_glb * t_dram ** hit_glb * p_dram ** (1.0 - hit_glb)     # [..., T]
    return torch.stack((above_rf, p_dram), dim=-2)


def relaxed_cost(hardware: HardwareBatch, workload: WorkloadTensors, mappings: MappingBatch,
                 technology: Technology | None = None) -> CostResult:
    """`AnalyticalCostModel`'s own body (`evaluate_batch`, systolic fill/drain included)
    with `soft_reloads` in place of the step-function reload rule.

    Equal to the exact model at integer factors (tested); continuous in float factors. Only
    the relaxed path uses it: every candidate is re-costed with the run's exact model.

    Shape:
        as `AnalyticalCostModel.evaluate`.
    """
    tech = technology if technology is not None else Technology.default()
    return evaluate_batch(hardware, workload, mappings, tech, reload_fn=soft_reloads)


def relaxed_objectives(result: CostResult, counts: torch.Tensor, objectives: Sequence[str],
                       smooth_p: float | None = DEFAULT_SMOOTH_P) -> torch.Tensor:
    """Natural logs of the named objectives of a costed batch; with ``smooth_p`` the per-layer
    ``max`` of the cycle bounds is replaced by `smooth_max` (and leakage, linear in cycles,
    follows it). ``smooth_p=None`` gives exactly ``CostResult.objectives()``.

    Shape:
        counts: ``[L]`` layer counts; returns ``[B, K]``.
    """
    named = result.objectives()
    if smooth_p is not None:
        soft = smooth_max(result.compute_cycles, result.glb_cycles, result.dram_cycles,
                          p=smooth_p)                                     # [B, L]
        leak_per_cycle = result.energy_parts_pj[..., 4] / result.cycles.clamp(min=1e-300)
        energy_pj = result.energy_pj + (soft - result.cycles) * leak_per_cycle  # [B, L]
        w = counts.to(soft.dtype)                                         # [L]
        latency_s = ((soft * w).sum(-1) + result.vector_cycles) / (result.clock_mhz * 1e6)
        energy_j = ((energy_pj * w).sum(-1) + result.vector_energy_pj) * 1e-12
        named = {"latency": latency_s, "energy": energy_j, "area": result.area_mm2,
                 "edp": energy_j * latency_s, "power": energy_j / latency_s}
    return torch.log(torch.stack([named[n] for n in objectives], dim=-1))


def objective_gradients(theta: torch.Tensor, frame: RelaxedFrame, workload: WorkloadTensors,
                        objectives: Sequence[str], technology: Technology | None = None,
                        smooth_p: float | None = DEFAULT_SMOOTH_P
                        ) -> tuple[torch.Tensor, torch.Tensor]:
    """Log objectives of `relaxed_cost` and their gradients in the relaxed space (one
    forward, K backward).

    Variables that are not ``frame.free`` get a zero gradient; a design whose objectives or
    gradients are not finite gets zero gradients (a step leaves it where it is).

    Shape:
        theta: ``[B, n]``; returns values ``[B, K]`` and gradients ``[B, K, n]``.
    """
    with torch.enable_grad():
        x = theta.detach().clone().requires_grad_(True)
        hardware, mappings = unrelax(x, frame, workload, smooth_p)
        result = relaxed_cost(hardware, workload, mappings, technology)
        values = relaxed_objectives(result, workload.counts, objectives, smooth_p)  # [B, K]
        grads = []
        for k in range(values.shape[1]):
            (g,) = torch.autograd.grad(values[:, k].sum(), x, retain_graph=True,
                                       allow_unused=True)
            grads.append(torch.zeros_like(x) if g is None else g)
    grads = torch.stack(grads, dim=1) * frame.free.unsqueeze(1)          # [B, K, n]
    ok = torch.isfinite(grads).flatten(1).all(-1) & torch.isfinite(values).all(-1)
    grads = torch.where(ok[:, None, None], grads, torch.zeros_like(grads))
    return values.detach(), grads


# -- back to the grid ------------------------------------------------------------------------
def _divisors(n: int) -> list[int]:
    small = [d for d in range(1, math.isqrt(n) + 1) if n % d == 0]
    return sorted({*small, *(n // d for d in small)})


def nearest_divisor(n: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """The divisor of ``n`` nearest to ``v`` in log distance (ties: the smaller one).

    Divisor lists are built once per distinct value of ``n`` (a few dozen loop extents), then
    every entry picks from its list in one batched ``argmin``.

    Shape:
        n: any shape, positive int64; v: the same shape, float; returns int64 of that shape.

    >>> nearest_divisor(torch.tensor([12, 12, 7]), torch.tensor([4.4, 5.0, 3.0])).tolist()
    [4, 6, 7]
    """
    values, inverse = torch.unique(n, return_inverse=True)
    lists = [_divisors(int(x)) for x in values.tolist()]   # distinct extents, not designs
    width = max(len(d) for d in lists)
    table = torch.tensor([d + [d[-1]] * (width - len(d)) for d in lists],
                         dtype=torch.float64, device=n.device)            # [U, W]
    cand = table[inverse]                                                 # [..., W]
    dist = (torch.log(cand) - torch.log(v.to(torch.float64).clamp(min=1.0)).unsqueeze(-1)
            ).abs()
    return cand.gather(-1, dist.argmin(-1, keepdim=True)).squeeze(-1).to(torch.int64)


def project(theta: torch.Tensor, frame: RelaxedFrame, workload: WorkloadTensors,
            space: DesignSpace) -> tuple[torch.Tensor, torch.Tensor]:
    """The nearest valid discrete design of each relaxed point.

    Factors: with ``E = ceil(D / (s_rows s_cols))`` the temporal extent a dim must cover,
    RF becomes the divisor of ``E`` nearest to its relaxed value in log space, GLB the divisor
    of ``E / f_RF`` nearest to its own, DRAM the rest: coverage holds with no temporal
    padding (padded iterations cost cycles and never help). Sizes: the space's allowed value
    nearest in log space, raised to the least allowed value that holds the spatial unrolling
    (PE rows and cols) and every layer's RF and GLB tiles; a design that no allowed value can
    hold stays infeasible and the exact re-costing masks it.

    Shape:
        theta: ``[B, n]``; returns hw_values ``[B, 5]`` float64 (`HW_PARAMS` order, allowed
        values) and factors ``[B, L, 5, D]`` int64.
    """
    n_b, n_l = theta.shape[0], frame.n_layers
    spatial = frame.spatial.round().to(torch.int64)                       # [B, L, 2, D]
    rows, cols = spatial[..., 0, :], spatial[..., 1, :]
    need = ceil_div(frame.dims.unsqueeze(0), rows * cols)                # [B, L, D]
    inner = torch.exp2(theta[:, _N_HW:].reshape(n_b, n_l, 2, -1).detach())
    rf = nearest_divisor(need, inner[..., 1, :])
    glb = nearest_divisor(need // rf, inner[..., 0, :])
    dram = need // (rf * glb)
    factors = torch.stack([dram, glb, rows, cols, rf], dim=-2)            # [B, L, 5, D]

    tile = tiles(factors, workload.stride, workload.dilation)             # [B, L, 4, T]
    needs = torch.stack([
        rows.prod(-1).amax(-1), cols.prod(-1).amax(-1),                   # [B]
        tile[..., 0, :].sum(-1).amax(-1), tile[..., 2, :].sum(-1).amax(-1),
    ], dim=-1).to(torch.float64)                                          # [B, 4]
    values = []
    for i, p in enumerate(HW_PARAMS):
        allowed = torch.tensor(space.choices(p), dtype=torch.float64, device=theta.device)
        dist = (theta[:, i:i + 1].detach() - torch.log2(allowed)).abs()   # [B, A]
        idx = dist.argmin(-1)                                             # [B]
        if i < 4:
            enough = allowed.unsqueeze(0) >= needs[:, i:i + 1]            # [B, A]
            first = torch.where(enough.any(-1), enough.to(torch.int64).argmax(-1),
                                len(allowed) - 1)
            idx = torch.maximum(idx, first)
        values.append(allowed[idx])
    return torch.stack(values, dim=-1), factors


def hw_genes_of(values: torch.Tensor, dataflow_genes: np.ndarray, space: DesignSpace
                ) -> np.ndarray:
    """Genes (bin centres) that `DesignSpace.decode` maps to the given allowed sizes.

    Shape:
        values: ``[B, 5]`` allowed values (`HW_PARAMS` order); dataflow_genes: ``[B]``;
        returns ``[B, H]`` float64.
    """
    v = values.cpu().numpy()
    genes = np.zeros((v.shape[0], len(HW_GENES)))
    for i, p in enumerate(HW_PARAMS):
        allowed = np.asarray(space.choices(p), dtype=np.float64)
        idx = np.abs(allowed[None, :] - v[:, i:i + 1]).argmin(-1)
        genes[:, HW_GENES.index(p)] = (idx + 0.5) / len(allowed)
    genes[:, HW_GENES.index("dataflow")] = dataflow_genes
    return genes


# -- the explore hook ------------------------------------------------------------------------
@dataclass(frozen=True)
class RefineStats:
    """What a `refine` call did: candidates costed exactly, steps run, designs the archive
    gained (new non-dominated rows that came from refinement), wall time."""

    n_evals: int
    n_steps: int
    n_added: int
    wall_s: float


def refine(evaluator, archive, *, n_steps: int = DEFAULT_STEPS,
           lengths: Sequence[float] = DEFAULT_LENGTHS,
           smooth_p: float | None = DEFAULT_SMOOTH_P, time_limit_s: float | None = None,
           stationary_tol: float = 1e-6, normalize: bool = True) -> RefineStats:
    """Polish an archive in place with MGDA steps (the ``--refine gradient`` hook of explore).

    From every archived design: relax, take the MGDA direction of the run's objectives (in
    ``ln`` units, so scales do not matter), scale it so the largest-moving variable moves one
    doubling, try every step length, project each candidate to the grid, re-cost all
    candidates exactly in one batch and merge them into the archive (which keeps only
    feasible, non-dominated rows). A design continues from its longest candidate that
    dominates it, for up to ``n_steps`` steps; one with no such candidate, or a (near)
    Pareto-stationary one, stops.

    ``evaluator`` is the run's `BatchEvaluator`, ``archive`` its `Archive`.
    """
    from codesign.cost.analytical import AnalyticalCostModel

    if not isinstance(evaluator.cost_model, AnalyticalCostModel):
        raise ConfigError(f"gradient refinement differentiates the analytical cost model; "
                          f"this run uses {type(evaluator.cost_model).__name__}: use "
                          f"--refine none")
    technology = evaluator.cost_model.technology
    started = time.perf_counter()
    space, workload = evaluator.space, evaluator.workload
    device = evaluator.device
    lengths_t = torch.tensor(list(lengths), dtype=torch.float64, device=device)  # [T]
    n_t = lengths_t.shape[0]
    hw_genes, factors, order = archive.hw_genes, archive.factors, archive.order
    current = archive.objectives
    n_evals = n_added = steps = 0
    for _ in range(n_steps):
        if hw_genes.shape[0] == 0:
            break
        if time_limit_s is not None and time.perf_counter() - started >= time_limit_s:
            break
        steps += 1
        hardware, mappings, _ = evaluator.cost(hw_genes, factors, order)
        theta, frame = relax(hardware, mappings, workload.dims, space)
        _, grads = objective_gradients(theta, frame, workload, evaluator.objectives,
                                       technology, smooth_p)
        direction = mgda_direction(grads, normalize)                      # [B, n]
        size = direction.abs().amax(-1, keepdim=True)                     # [B, 1]
        moving = (size.squeeze(-1) > stationary_tol).cpu().numpy()
        unit = direction / size.clamp(min=1e-300)
        cand = (theta.unsqueeze(1) + lengths_t[None, :, None] * unit.unsqueeze(1))
        cand_frame = _repeat_frame(frame, n_t)
        values, new_factors = project(cand.flatten(0, 1), cand_frame, workload, space)
        new_genes = hw_genes_of(values, np.repeat(hw_genes[:, _DATAFLOW_GENE], n_t), space)
        new_factors_np = new_factors.cpu().numpy()
        new_order = np.repeat(order, n_t, axis=0)
        _, _, result = evaluator.cost(new_genes, new_factors_np, new_order)
        objs, _, feasible = evaluator.outputs(result)
        objs, feasible = objs.cpu().numpy(), feasible.cpu().numpy()
        n_evals += int(new_genes.shape[0])
        added, rows = accept_step(archive, objs, feasible, moving, current, new_genes,
                                  new_factors_np, new_order)
        n_added += added
        if rows is None:
            break
        hw_genes, factors = new_genes[rows], new_factors_np[rows]
        order, current = new_order[rows], objs[rows]
    return RefineStats(n_evals=n_evals, n_steps=steps, n_added=n_added,
                       wall_s=time.perf_counter() - started)


def accept_step(archive, objs: np.ndarray, feasible: np.ndarray, moving: np.ndarray,
                current: np.ndarray, genes: np.ndarray, factors: np.ndarray,
                order: np.ndarray) -> tuple[int, np.ndarray | None]:
    """One step's candidates into ``archive``: how many it did not dominate, and the rows
    the next step continues from (each design's longest candidate that dominates its
    parent), or None when no design improved (the refinement stops).

    Shape: objs ``[B * T, K]`` (``T`` step lengths per design, in a row), feasible
    ``[B * T]``, moving ``[B]`` (a stationary design's candidates are not kept), current
    ``[B, K]`` the parents' objectives; genes, factors, order ``[B * T, ...]``.
    """
    n_t = objs.shape[0] // max(len(moving), 1)
    feasible = feasible & np.repeat(moving, n_t)
    merged = np.concatenate([archive.objectives, objs[feasible]])
    n_added = int(non_dominated_mask(merged)[len(archive):].sum())
    archive.update(objs, feasible, genes, factors, order)
    o = objs.reshape(-1, n_t, objs.shape[-1])                             # [B, T, K]
    parent = current[:, None, :]
    dom = feasible.reshape(-1, n_t) & (o <= parent).all(-1) & (o < parent).any(-1)
    has = dom.any(-1)
    if not has.any():
        return n_added, None
    pick = n_t - 1 - dom[:, ::-1].argmax(-1)                              # [B]
    return n_added, np.nonzero(has)[0] * n_t + pick[has]


def _repeat_frame(frame: RelaxedFrame, n: int) -> RelaxedFrame:
    """Every design ``n`` times in a row (``[B * n]``), like `HardwareBatch.repeat_interleave`."""
    return RelaxedFrame(
        hardware=frame.hardware.repeat_interleave(n),
        spatial=frame.spatial.repeat_interleave(n, dim=0),
        temporal_total=frame.temporal_total.repeat_interleave(n, dim=0),
        order=frame.order.repeat_interleave(n, dim=0),
        free=frame.free.repeat_interleave(n, dim=0), dims=frame.dims)


def refine_run(state, evaluator, *, n_steps: int = DEFAULT_STEPS, on_generation=None,
               refine_fn=None) -> RefineStats:
    """`refine` a finished run's archive and account for it like a phase of the run.

    Adds the candidates to ``state.n_evals`` and the time to ``state.elapsed_s``, appends a
    history row with phase ``refine`` and calls ``on_generation(state, stats)`` (checkpoint,
    progress) as the run loop does after a generation. ``state`` is a
    `codesign.search.run.RunState`, ``evaluator`` its `BatchEvaluator`; ``refine_fn`` the
    refinement (default `refine`; a hierarchy run's is
    `codesign.search.hierarchy_gradient.refine_hierarchy`).
    """
    from codesign.search.run import generation_stats

    stats = (refine_fn or refine)(evaluator, state.archive, n_steps=n_steps)
    state.n_evals += stats.n_evals
    state.elapsed_s += stats.wall_s
    state.evaluator_calls = evaluator.calls
    row = generation_stats(state, evaluator.objectives, phase="refine")
    state.history.append(row.to_row())
    if on_generation is not None:
        on_generation(state, row)
    return stats
