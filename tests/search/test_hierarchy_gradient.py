"""Gradient refinement of a hierarchy run (`codesign.search.hierarchy_gradient`)."""

import json

import numpy as np
import torch
from click.testing import CliRunner

from codesign.api import explore
from codesign.cli import main
from codesign.search.archive import Archive, non_dominated_mask
from codesign.search.hierarchy_gradient import (
    nest_gradients,
    project_nests,
    refine_hierarchy,
    relax_nests,
    relaxed_nest_objectives,
    unrelax_nests,
)
from codesign.search.hierarchy_problem import HierarchyEvaluator
from codesign.search.hierarchy_space import HierarchySpace
from codesign.search.problem import MapperEffort
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=14, Q=14, R=3, S=3, name="c1"),
                                Layer.gemm(M=12, K=32, N=24, name="fc")])
SPACE = {"base": "eyeriss",
         "levels": {"GLB": {"capacity_words": [1024, 32768]}},
         "fanouts": {"PE": {"x": [4, 16], "y": 12}}}


def _evaluated(seed: int = 0, n: int = 6):
    space = HierarchySpace.from_dict(SPACE)
    ev = HierarchyEvaluator(space, TABLE, ("latency", "energy"),
                            effort=MapperEffort(4, 1), seed=seed)
    x = np.random.default_rng(seed).random((n, space.n_genes))
    return ev, ev.evaluate(x)


def test_relaxing_and_unrelaxing_gives_back_the_factors():
    ev, e = _evaluated()
    f = torch.as_tensor(e.factors)
    theta, frame = relax_nests(f, ev.structure.temporal_slots)
    assert torch.equal(unrelax_nests(theta, frame), f.to(torch.float64))
    assert torch.equal(project_nests(theta, frame), f)


def test_projection_covers_the_layer_with_the_parents_temporal_product():
    ev, e = _evaluated()
    f = torch.as_tensor(e.factors)
    tslots = list(ev.structure.temporal_slots)
    theta, frame = relax_nests(f, tslots)
    moved = theta + torch.randn_like(theta, generator=torch.Generator().manual_seed(1)) * 2
    p = project_nests(moved, frame)
    # the temporal product of every (design, layer, dim) is the parent's; spatial kept
    assert torch.equal(p[..., tslots, :].prod(-2), f[..., tslots, :].prod(-2))
    spatial = [s for s in range(f.shape[-2]) if s not in tslots]
    assert torch.equal(p[..., spatial, :], f[..., spatial, :])
    assert (p >= 1).all()


def test_refined_candidates_are_valid_and_the_front_is_never_dominated_by_the_old():
    ev, e = _evaluated()
    archive = Archive(np.zeros((0, 2)), np.zeros((0, e.hw_genes.shape[1])),
                      e.factors[:0], e.order[:0])
    archive.update(e.objectives, e.feasible, e.hw_genes, e.factors, e.order)
    before = archive.objectives.copy()
    stats = refine_hierarchy(ev, archive, n_steps=2)
    assert stats.n_evals > 0
    _, _, result = ev.cost(archive.hw_genes, archive.factors, archive.order)
    assert bool(result.layer_feasible.all())   # capacity fits, factors cover the layer
    merged = np.concatenate([archive.objectives, before])
    assert non_dominated_mask(merged)[:len(archive)].all()


def test_gradients_match_finite_differences():
    ev, e = _evaluated(n=2)
    designs, nests, _ = ev.cost(e.hw_genes, e.factors, e.order)
    theta, frame = relax_nests(nests.factors, ev.structure.temporal_slots)
    theta = theta + 0.3 * frame.free    # off the integer points
    _, grads = nest_gradients(ev, designs, theta, frame, nests.order, nests.keep)
    free = frame.free[0].nonzero().squeeze(-1)[:6]
    assert len(free) > 0
    h = 1e-6
    for i in free.tolist():
        step = torch.zeros_like(theta)
        step[:, i] = h
        hi = relaxed_nest_objectives(ev, designs, unrelax_nests(theta + step, frame),
                                     nests.order, nests.keep)
        lo = relaxed_nest_objectives(ev, designs, unrelax_nests(theta - step, frame),
                                     nests.order, nests.keep)
        fd = (hi - lo) / (2 * h)                                          # [B, K]
        assert torch.allclose(grads[:, :, i], fd, rtol=1e-4, atol=1e-6), (i, grads[:, :, i], fd)


def test_explore_refines_a_hierarchy_front_and_records_it(tmp_path):
    space = HierarchySpace.from_dict(SPACE)
    result = explore(TABLE, space, refine="gradient", population=4, generations=1,
                     mapper_candidates=4, mapper_steps=1, out=tmp_path / "r", device="cpu")
    assert result is not None
    run = json.loads((tmp_path / "r" / "run.json").read_text())
    assert run["config"]["refine"] == "gradient"
    assert run["refine"]["method"] == "gradient" and run["refine"]["evaluations"] > 0


def test_cli_refines_a_tiny_hierarchy_space(conv_gemm_onnx, tmp_path):
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(SPACE))
    r = CliRunner().invoke(main, ["explore", str(conv_gemm_onnx), "--space",
                                  str(tmp_path / "s.yaml"), "--population", "4",
                                  "--generations", "1", "--mapper-candidates", "4",
                                  "--mapper-steps", "1", "--refine", "gradient",
                                  "--device", "cpu", "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    run = json.loads((tmp_path / "o" / "run.json").read_text())
    assert run["refine"]["steps"] >= 1
