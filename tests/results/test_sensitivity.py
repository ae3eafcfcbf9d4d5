"""Tests for codesign/results/sensitivity.py: critical points, elasticities, run folders."""

from __future__ import annotations

import json
import math
from dataclasses import replace

import pytest
import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.technology import Technology
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.area import area_breakdown_mm2
from codesign.errors import ConfigError
from codesign.mapping.batch import HardwareBatch, MappingBatch, WorkloadTensors
from codesign.mapping.mapping import Mapping
from codesign.results.sensitivity import (
    classify_critical_point,
    design_sensitivity,
    format_sensitivity,
    sensitivity,
)
from codesign.workload.layer import Layer, LayerTable, VectorOp


# -- classify_critical_point on analytic functions -------------------------------------------
def bowl(v):
    """x^2 + y^2 - 2x - 2y + 6 = (x-1)^2 + (y-1)^2 + 4: one minimum, at (1, 1)."""
    x, y = v[0], v[1]
    return x**2 + y**2 - 2 * x - 2 * y + 6


def quartic(v):
    """(x^4+y^4)/4 - (x^3+y^3)/3 - x^2 - y^2 + 4 = g(x) + g(y) + 4 with
    g' = x^3 - x^2 - 2x = x (x - 2)(x + 1): critical at x in {-1, 0, 2};
    g'' = 3x^2 - 2x - 2 is 3 at -1, -2 at 0, 6 at 2. Both coordinates in {-1, 2}: 4 minima;
    (0, 0): the maximum; one 0 and one of {-1, 2}: 4 saddles."""
    x, y = v[0], v[1]
    return (x**4 + y**4) / 4 - (x**3 + y**3) / 3 - x**2 - y**2 + 4


def critical_points(f, starts, iters=50):
    """Newton's method from all starts at once (``f`` works on ``[2, N]`` columns);
    the distinct points it converges to, rounded to 1e-6."""
    x = torch.tensor(starts, dtype=torch.float64).T.contiguous()          # [2, N]
    for _ in range(iters):
        v = x.clone().requires_grad_(True)
        (g,) = torch.autograd.grad(f(v).sum(), v, create_graph=True)      # [2, N]
        rows = [torch.autograd.grad(g[i].sum(), v, retain_graph=True)[0] for i in range(2)]
        h = torch.stack(rows).permute(2, 0, 1)                            # [N, 2, 2]
        step = torch.linalg.lstsq(h, g.detach().T.unsqueeze(-1)).solution.squeeze(-1)
        x = (x - step.T).detach()
    v = x.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(v).sum(), v)
    ok = torch.isfinite(x).all(0) & (g.norm(dim=0) < 1e-10)
    return sorted({tuple(round(float(c), 6) + 0.0 for c in col) for col in x.T[ok]})


GRID = [(a / 4, b / 4) for a in range(-8, 13) for b in range(-8, 13)]   # [-2, 3]^2


def test_bowl_has_exactly_one_critical_point_a_minimum():
    points = critical_points(bowl, GRID[::7])
    assert points == [(1.0, 1.0)]
    result = classify_critical_point(bowl, [1.0, 1.0])
    assert result["kind"] == "local minimum"
    assert result["eigenvalues"] == pytest.approx([2.0, 2.0])   # Hessian 2 I


def test_quartic_has_nine_critical_points_four_minima_one_maximum_four_saddles():
    points = critical_points(quartic, GRID)
    assert len(points) == 9
    assert {c for p in points for c in p} == {-1.0, 0.0, 2.0}
    kinds = {p: classify_critical_point(quartic, list(p))["kind"] for p in points}
    assert sorted(kinds.values()).count("local minimum") == 4
    assert list(kinds.values()).count("local maximum") == 1
    assert list(kinds.values()).count("saddle") == 4
    assert kinds[(0.0, 0.0)] == "local maximum"
    assert kinds[(2.0, -1.0)] == "local minimum"
    assert kinds[(0.0, 2.0)] == "saddle"
    # eigenvalues at (2, 0): g''(2) = 6 and g''(0) = -2
    assert classify_critical_point(quartic, [2.0, 0.0])["eigenvalues"] == pytest.approx(
        [-2.0, 6.0])


def test_a_point_with_a_gradient_is_still_sloped_and_a_flat_direction_is_degenerate():
    sloped = classify_critical_point(bowl, [0.0, 0.0])
    assert sloped["kind"] == "still sloped"
    assert sloped["gradient_norm"] == pytest.approx(math.sqrt(8))   # |(-2, -2)|
    # x^4 + y^2 at 0: eigenvalues 0 and 2, the second-order test cannot decide
    flat = classify_critical_point(lambda v: v[0] ** 4 + v[1] ** 2, [0.0, 0.0])
    assert flat["kind"] == "degenerate"


# -- design_sensitivity on the exact model ---------------------------------------------------
LAYERS = [Layer.gemm(M=16, K=16, N=16, name="fc"),
          Layer.conv(K=8, C=4, P=6, Q=6, R=3, S=3, name="conv")]
RELU = VectorOp("relu", "Relu", elements=4096, bytes_in=8192, bytes_out=8192, ops=4096)
TABLE = LayerTable.from_layers(LAYERS, [RELU])
MAPPINGS = [
    Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                       "temporal": {"RF": {"C": 2}, "GLB": {"K": 4, "C": 2, "P": 16}},
                       "order": {"GLB": ["K", "C", "P"]}}),
    Mapping.from_json({"spatial": {"rows": {"C": 4}, "cols": {"K": 4}},
                       "temporal": {"RF": {"R": 3, "S": 3}, "GLB": {"P": 6, "Q": 6},
                                    "DRAM": {"K": 2}}}),
]
# GLB bandwidth 2 words/cycle: low enough that some layer is GLB-bound (latency feels it)
ACC = Accelerator(pe_rows=8, pe_cols=8, rf_words=64, glb_words=8192, glb_bw=2.0,
                  dram_bw=4.0, dataflow="flexible")
PARAMS = ("pe_rows", "pe_cols", "rf_words", "glb_words", "glb_bw")


def _exact_log_objectives(values: dict[str, float]) -> dict[str, float]:
    hw = HardwareBatch.from_accelerators([ACC])
    hw = replace(hw, **{p: torch.tensor([v], dtype=torch.float64) for p, v in values.items()})
    batch = MappingBatch.from_mappings([MAPPINGS])
    res = AnalyticalCostModel().evaluate(hw, WorkloadTensors.from_table(TABLE), batch)
    return {k: math.log(float(v[0])) for k, v in res.objectives().items()}


@pytest.fixture(scope="module")
def report():
    return design_sensitivity(ACC, TABLE, MAPPINGS, objectives=("latency", "energy", "area"))


def test_elasticities_match_central_differences_of_the_exact_model(report):
    h = 1e-5
    base = {p: float(getattr(ACC, p)) for p in PARAMS}
    for p in PARAMS:
        up = _exact_log_objectives({**base, p: base[p] * math.exp(h)})
        down = _exact_log_objectives({**base, p: base[p] * math.exp(-h)})
        for obj in ("latency", "energy", "area"):
            fd = (up[obj] - down[obj]) / (2 * h)
            assert report["elasticity"][obj][p] == pytest.approx(fd, rel=1e-4, abs=1e-8), \
                (obj, p)
    # the design is GLB-bound somewhere: latency falls as GLB bandwidth grows
    assert report["elasticity"]["latency"]["glb_bw"] < 0


def test_area_elasticities_are_the_area_shares(report):
    # area = PEs x PE area + GLB SRAM (linear in glb_words) + fixed: d ln A / d ln G is the
    # GLB share of the area, d ln A / d ln rows (and cols) the PE-array share.
    parts = area_breakdown_mm2(HardwareBatch.from_accelerators([ACC]), Technology.default())[0]
    total = float(parts.sum())
    assert report["elasticity"]["area"]["glb_words"] == pytest.approx(float(parts[1]) / total)
    assert report["elasticity"]["area"]["pe_rows"] == pytest.approx(float(parts[0]) / total)
    assert report["elasticity"]["area"]["glb_bw"] == 0.0        # area has no bandwidth term
    assert report["elasticity"]["latency"]["glb_words"] == 0.0  # latency has no size term


def test_cosines_are_symmetric_unit_diagonal_and_conflicts_are_the_negative_ones(report):
    names = list(report["objectives"])
    for a in names:
        assert report["cosine"][a][a] == pytest.approx(1.0)
        for b in names:
            assert report["cosine"][a][b] == pytest.approx(report["cosine"][b][a])
            assert -1.0 - 1e-12 <= report["cosine"][a][b] <= 1.0 + 1e-12
    negative = {(a, b) for i, a in enumerate(names) for b in names[i + 1:]
                if report["cosine"][a][b] < 0}
    assert {(a, b) for a, b, _ in report["conflicts"]} == negative
    # latency wants more GLB bandwidth, area is indifferent to it and grows with PEs:
    # the hand design has latency and area pulling apart (checked, not assumed)
    e_lat = torch.tensor([report["elasticity"]["latency"][p] for p in PARAMS])
    e_area = torch.tensor([report["elasticity"]["area"][p] for p in PARAMS])
    cos = float(e_lat @ e_area / (e_lat.norm() * e_area.norm()))
    assert report["cosine"]["latency"]["area"] == pytest.approx(cos)


def test_hessian_classification_and_least_sizes(report):
    for h in report["hessian"].values():
        assert h["kind"] in ("still sloped", "local minimum", "saddle", "local maximum",
                             "degenerate")
        assert len(h["eigenvalues"]) == len(PARAMS)
    # area grows with every size: no stationary point in the hardware sizes
    assert report["hessian"]["area"]["kind"] == "still sloped"
    # least sizes: rows C=4 and cols K=4 in both layers; RF tiles: fc RF box C=2 ->
    # W 2 + I 2 + O 1 = 5; conv RF box R=S=3 -> W 9 + I 9 + O 1 = 19
    assert report["min_sizes"]["pe_rows"] == 4 and report["min_sizes"]["pe_cols"] == 4
    assert report["min_sizes"]["rf_words"] == 19
    assert report["feasible"] is True


def test_format_shows_every_parameter_and_objective(report):
    text = format_sensitivity(report)
    for word in (*PARAMS, "latency", "energy", "area", "Elasticity", "Cosine", "Hessian"):
        assert word in text


# -- sensitivity(run_dir) --------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    from codesign.api import explore

    out = tmp_path_factory.mktemp("run")
    explore(LayerTable.from_layers(LAYERS), population=4, generations=1, mapper_candidates=2,
            mapper_steps=1, device="cpu", out=out, plot=False)
    return out


def test_sensitivity_of_a_run_folder(run_dir):
    designs = json.loads((run_dir / "designs.json").read_text())["designs"]
    report = sensitivity(run_dir, designs[0]["design"])
    assert report["design"] == designs[0]["design"]
    assert set(report["objectives"]) == {"latency", "energy", "area"}
    for name, value in report["objectives"].items():   # same numbers as the run reported
        key = {"latency": "latency_s", "energy": "energy_j", "area": "area_mm2"}[name]
        assert value == pytest.approx(designs[0]["metrics"][key], rel=1e-9)
    # an in-memory workload has no model file: layer shapes come from designs.json
    assert any("designs.json" in note for note in report["notes"])
    json.dumps(report)   # plain data


def test_sensitivity_errors_name_the_folder_and_what_to_do(run_dir, tmp_path):
    with pytest.raises(ConfigError, match="no design 999"):
        sensitivity(run_dir, 999)
    with pytest.raises(ConfigError, match="not a folder"):
        sensitivity(tmp_path / "missing", 0)
    with pytest.raises(ConfigError, match="no readable designs.json"):
        sensitivity(tmp_path, 0)
    (tmp_path / "designs.json").write_text("{not json")
    with pytest.raises(ConfigError, match="not valid JSON"):
        sensitivity(tmp_path, 0)


def test_objectives_of_a_custom_cost_model_are_skipped_with_a_note(run_dir, tmp_path):
    import shutil

    folder = tmp_path / "run"
    shutil.copytree(run_dir, folder)
    designs = json.loads((folder / "designs.json").read_text())
    designs["objectives"] = ["latency", "temperature"]
    (folder / "designs.json").write_text(json.dumps(designs))
    report = sensitivity(folder, designs["designs"][0]["design"])
    assert list(report["objectives"]) == ["latency"]
    assert any("temperature" in note for note in report["notes"])


def test_limits_block_elasticities_that_push_against_them():
    # ACC: 8x8 PEs, RF 64, GLB 8192, GLB bw 2. With single allowed sizes, every size is at
    # its least allowed value that holds the mappings and at its largest: area (which only
    # wants smaller sizes; no bandwidth term) is a minimum at its limits.
    allowed = {"pe_rows": (8,), "pe_cols": (8,), "rf_words": (64,), "glb_words": (8192,),
               "glb_bw": (1.0, 2.0)}
    report = design_sensitivity(ACC, TABLE, MAPPINGS, allowed=allowed)
    area = report["within_bounds"]["area"]
    assert area["kind"] == "minimum at its limits" and area["free_gradient_norm"] == 0.0
    assert "pe_rows at its least (8)" in area["blocked"]
    # latency wants more GLB bandwidth (elasticity < 0) and 2 is the largest allowed value
    assert "glb_bw at its largest (2)" in report["within_bounds"]["latency"]["blocked"]
    # with room above (up to 64 words/cycle) the same elasticity is free: still sloped
    roomy = design_sensitivity(ACC, TABLE, MAPPINGS, allowed={**allowed, "glb_bw": (2.0, 64.0)})
    assert roomy["within_bounds"]["latency"]["kind"] == "still sloped"
    assert roomy["within_bounds"]["latency"]["free_gradient_norm"] == pytest.approx(
        abs(roomy["elasticity"]["latency"]["glb_bw"]))
    # PE rows 8 with 4 needed and 4 allowed: not at its least, so area is not blocked there
    loose = design_sensitivity(ACC, TABLE, MAPPINGS, allowed={**allowed, "pe_rows": (4, 8)})
    assert not any(b.startswith("pe_rows") for b in loose["within_bounds"]["area"]["blocked"])
    assert loose["within_bounds"]["area"]["kind"] == "still sloped"
