"""Timeloop files out (`codesign.timeloop.writers`): what is written reads back to the same
hierarchy, layer and nest, so `evaluate_files` on the files equals `nest_cost` on the
objects, exactly for counts and cycles; on hand-made and random hierarchies."""

import random

import pytest
import yaml

from codesign.errors import ArchError, MappingError
from codesign.hierarchy.levels import Compute, FanOut, Hierarchy, StorageLevel
from codesign.hierarchy.nest import LoopNest
from codesign.timeloop.arch import parse_arch, parse_ert, to_hierarchy
from codesign.timeloop.evaluate import TimeloopCase, cost_case, evaluate_files, summary
from codesign.timeloop.files import load_yaml
from codesign.timeloop.problem import TimeloopProblem, parse_problem
from codesign.timeloop.writers import (
    DATASPACE_NAMES,
    DIM_NAMES,
    both_axes,
    dump_yaml,
    flatten_fanouts,
    flatten_nest,
    generate_arch,
    generate_ert,
    generate_mapping,
    generate_problem,
    write_yaml,
)
from codesign.workload.layer import DIMS, TENSORS, Layer


def direct(hierarchy: Hierarchy, layer: Layer, nest: LoopNest) -> dict:
    """`nest_cost` of the objects, in `evaluate_files`'s JSON form."""
    problem = TimeloopProblem(layer, dict(DIM_NAMES), dict(DATASPACE_NAMES))
    case = TimeloopCase(hierarchy, problem, nest)
    return summary(case, cost_case(case))


def written(tmp_path, hierarchy: Hierarchy, layer: Layer, nest: LoopNest) -> dict:
    files = {"arch": generate_arch(hierarchy), "ert": generate_ert(hierarchy),
             "problem": generate_problem(layer), "mapping": generate_mapping(hierarchy, nest)}
    for name, data in files.items():
        write_yaml(tmp_path / f"{name}.yaml", data)
    return evaluate_files(*(tmp_path / f"{n}.yaml" for n in ("arch", "problem", "mapping")),
                          ert=tmp_path / "ert.yaml")


def assert_same(got: dict, want: dict) -> None:
    assert got["levels"] == want["levels"]
    assert got["cycles"] == want["cycles"] and got["computes"] == want["computes"]
    assert got["energy_pj"] == pytest.approx(want["energy_pj"], rel=1e-12)
    assert got["energy_by_level_pj"] == pytest.approx(want["energy_by_level_pj"], rel=1e-12)


TOY = Hierarchy("toy", (
    StorageLevel("DRAM", word_bits=8, shared_bw=4.0, read_pj=100.0, fill_pj=100.0,
                 update_pj=100.0),
    StorageLevel("GLB", keeps=("I", "O"), capacity_words=4096, word_bits=8, block_words=4,
                 read_bw=8.0, write_bw=4.5, read_pj=6.0, fill_pj=7.0, update_pj=7.5,
                 leak_pj=0.25, bypass_choice=("I",)),
    FanOut("PE", x=4, y=2),
    StorageLevel("RF", capacity_words=64, word_bits=8, read_pj=0.5, fill_pj=0.6,
                 update_pj=0.7, leak_pj=0.01, multiple_buffering=2.0),
), Compute("MAC", mac_pj=0.2), clock_mhz=500.0)
CONV = Layer.conv(K=8, C=6, P=6, Q=5, R=3, S=2, stride=(2, 1), dilation=(1, 2), name="conv")
NEST = LoopNest({"DRAM": {"K": 2, "Q": 5}, "GLB": {"C": 3, "P": 3}, "PE.X": {"K": 4},
                 "PE.Y": {"C": 2}, "RF": {"P": 2, "R": 3, "S": 2}},
                {"GLB": ("P", "C"), "RF": ("S", "P", "R")}, {"GLB": ("O",)})


def test_the_arch_reads_back_to_the_hierarchy():
    back = to_hierarchy(parse_arch(generate_arch(TOY)), {v: k for k, v in DATASPACE_NAMES.items()},
                        parse_ert(generate_ert(TOY)))
    assert back.nodes == TOY.nodes
    assert back.compute == TOY.compute
    assert back.clock_mhz == pytest.approx(TOY.clock_mhz, rel=1e-15)


def test_the_problem_reads_back_to_the_layer():
    got = parse_problem(yaml.safe_load(dump_yaml(generate_problem(CONV)))).layer
    assert got == CONV and got.name == "conv"
    assert got.stride == (2, 1) and got.dilation == (1, 2)


def test_the_files_cost_what_the_objects_cost(tmp_path):
    assert_same(written(tmp_path, TOY, CONV, NEST), direct(TOY, CONV, NEST))


def test_the_arch_file_has_timeloop_tags(tmp_path):
    write_yaml(tmp_path / "arch.yaml", generate_arch(TOY))
    text = (tmp_path / "arch.yaml").read_text()
    assert text.count("!Component") == 4 and text.count("!Container") == 2
    nodes = load_yaml(tmp_path / "arch.yaml")["architecture"]["nodes"]
    assert nodes[2]["attributes"] == {"depth": 1024, "width": 32, "datawidth": 8,
                                      "block_size": 4, "read_bandwidth": 8.0,
                                      "write_bandwidth": 4.5}
    # I may be bypassed (the mapping's choice), O is kept, W bypasses
    assert nodes[2]["constraints"] == {"dataspace": {"keep": ["Outputs"],
                                                     "bypass": ["Weights"]}}
    assert nodes[3]["spatial"] == {"meshX": 4, "meshY": 2}


def test_what_timeloop_cannot_say_is_refused():
    bad = Hierarchy("bad", (StorageLevel("DRAM"), FanOut("PE", x=2, hop_pj=1.0),
                            StorageLevel("RF", partition_words={"W": 4, "I": 4, "O": 4},
                                         word_bits={"W": 8, "I": 8, "O": 16})))
    with pytest.raises(ArchError) as err:
        generate_arch(bad)
    for what in ("hop_pj", "per-tensor partitions", "one datawidth"):
        assert what in str(err.value)


def test_a_dim_on_both_axes_is_flattened_onto_one_mesh(tmp_path):
    nest = LoopNest({"DRAM": {"K": 2, "Q": 5, "C": 3}, "GLB": {"P": 3},
                     "PE.X": {"K": 2, "C": 2}, "PE.Y": {"K": 2},
                     "RF": {"P": 2, "R": 3, "S": 2}})
    assert both_axes(TOY, nest) == ["K on PE"]
    with pytest.raises(MappingError, match="K on PE"):
        generate_mapping(TOY, nest)
    flat, flat_nest = flatten_fanouts(TOY), flatten_nest(nest, TOY)
    assert flat.fanouts[0].x == 8 and flat.fanouts[0].y == 1
    assert flat_nest.factors["PE.X"] == {"K": 4, "C": 2}
    assert_same(written(tmp_path, flat, CONV, flat_nest), direct(TOY, CONV, nest))


def _split(n: int, parts: int, rng: random.Random) -> list[int]:
    """``parts`` factors whose product is at least ``n`` (ceil-padding allowed)."""
    out = []
    for _ in range(parts - 1):
        f = rng.choice([1, 1, 2, 3])
        out.append(min(f, n))
        n = -(-n // out[-1])
    return [*out, n]


def _random_case(rng: random.Random) -> tuple[Hierarchy, Layer, LoopNest]:
    n_levels = rng.randint(2, 4)
    nodes: list = []
    for m in range(n_levels):
        if m and rng.random() < 0.6:
            nodes.append(FanOut(f"F{m}", x=rng.choice([1, 2, 4]), y=rng.choice([1, 2, 3])))
        block = rng.choice([1, 2, 4])
        keeps = TENSORS if m == 0 else tuple(t for t in TENSORS if rng.random() < 0.8)
        choice = tuple(t for t in keeps if m and rng.random() < 0.4)
        nodes.append(StorageLevel(
            f"L{m}", keeps=keeps, bypass_choice=choice, word_bits=rng.choice([8, 16]),
            capacity_words=None if m == 0 else block * rng.randint(16, 4096),
            block_words=block,
            read_bw=rng.choice([None, 2.0, 7.5]), write_bw=rng.choice([None, 1.5, 4.0]),
            shared_bw=rng.choice([None, 3.25]),
            read_pj=rng.uniform(0, 50), fill_pj=rng.uniform(0, 50),
            update_pj=rng.uniform(0, 50), leak_pj=rng.choice([0.0, rng.uniform(0, 1)])))
    bits = {n.word_bits["W"] for n in nodes if isinstance(n, StorageLevel)}
    nodes = [n if isinstance(n, FanOut) else StorageLevel(**{**n.__dict__, "word_bits": max(bits)})
             for n in nodes]
    h = Hierarchy("random", tuple(nodes), Compute("MAC", mac_pj=rng.uniform(0.1, 2)))
    layer = Layer(rng.randint(1, 2), rng.randint(1, 2), rng.randint(1, 9), rng.randint(1, 9),
                  rng.randint(1, 7), rng.randint(1, 7), rng.randint(1, 3), rng.randint(1, 3),
                  stride=(rng.randint(1, 2), rng.randint(1, 2)),
                  dilation=(rng.randint(1, 2), 1))
    slots = [s.name for s in h.slots]
    factors: dict[str, dict[str, int]] = {s: {} for s in slots}
    for d in DIMS:
        parts = _split(getattr(layer, d), len(slots), rng)
        rng.shuffle(parts)
        for slot, f in zip(slots, parts, strict=True):
            if f > 1:
                factors[slot][d] = f
    for fan in h.fanouts:   # one axis per dim, as a spatial directive says
        x, y = factors[f"{fan.name}.X"], factors[f"{fan.name}.Y"]
        for d in set(x) & set(y):
            x[d] *= y.pop(d)
    order = {lv: tuple(rng.sample(DIMS, len(DIMS))) for lv in h.level_names}
    keep = {lv.name: tuple(t for t in lv.keeps if t not in lv.bypass_choice or rng.random() < 0.5)
            for lv in h.levels if lv.bypass_choice}
    return h, layer, LoopNest(factors, order, keep)


@pytest.mark.parametrize("seed", range(12))
def test_random_hierarchies_and_nests_round_trip(tmp_path, seed):
    h, layer, nest = _random_case(random.Random(seed))
    assert_same(written(tmp_path, h, layer, nest), direct(h, layer, nest))
