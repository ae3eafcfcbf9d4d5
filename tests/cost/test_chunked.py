"""Chunked evaluation (docs/GUARANTEES.md, "Resources"): identical numbers, bounded memory."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import textwrap

import pytest
import torch

from codesign.arch.accelerator import Accelerator
from codesign.arch.batch import HardwareBatch
from codesign.cost.analytical import AnalyticalCostModel
from codesign.cost.chunked import (
    BYTES_PER_DESIGN_LAYER,
    ENV_MAX_BATCH_BYTES,
    ChunkedCostModel,
    chunk_designs,
    evaluate_in_chunks,
    max_batch_bytes,
)
from codesign.errors import ConfigError
from codesign.mapping.batch import MappingBatch, WorkloadTensors
from codesign.workload.layer import Layer, LayerTable


def _batch(n_designs: int, n_layers: int = 3):
    """``n_designs`` different designs (PE rows 1..n) x ``n_layers`` convs, every loop at
    DRAM (a valid mapping for any design)."""
    table = LayerTable.from_layers([Layer.conv(K=8 + i, C=4, P=6, Q=6, R=3, S=3)
                                    for i in range(n_layers)])
    workload = WorkloadTensors.from_table(table)
    hardware = HardwareBatch.from_accelerators(
        [Accelerator(pe_rows=1 + b % 16, glb_words=1024 * (1 + b % 5)) for b in range(n_designs)])
    factors = torch.ones(n_designs, n_layers, 5, 8, dtype=torch.int64)
    factors[:, :, 0, :] = workload.dims
    order = torch.arange(8).expand(n_designs, n_layers, 3, 8).contiguous()
    return hardware, workload, MappingBatch(factors, order)


class _Extra:
    """A custom model with an added objective, to check extra_objectives survive chunking."""

    extra_objectives = ("pe_count",)

    def __init__(self) -> None:
        self.inner = AnalyticalCostModel()
        self.calls: list[int] = []

    def evaluate(self, hardware, workload, mappings):
        self.calls.append(hardware.n_designs)
        result = self.inner.evaluate(hardware, workload, mappings)
        pes = (hardware.pe_rows * hardware.pe_cols).to(torch.float64)
        return dataclasses.replace(result, extra_objectives={"pe_count": pes})


def _assert_same(a, b) -> None:
    for f in dataclasses.fields(a):
        if f.name == "extra_objectives":
            assert a.extra_objectives.keys() == b.extra_objectives.keys()
            for k in a.extra_objectives:
                assert torch.equal(a.extra_objectives[k], b.extra_objectives[k]), k
        elif dataclasses.is_dataclass(getattr(a, f.name)):     # the level breakdown
            _assert_same(getattr(a, f.name), getattr(b, f.name))
        elif isinstance(getattr(a, f.name), torch.Tensor):
            assert torch.equal(getattr(a, f.name), getattr(b, f.name)), f.name
        else:
            assert getattr(a, f.name) == getattr(b, f.name), f.name


def test_chunks_give_exactly_the_unchunked_result():
    hardware, workload, mappings = _batch(10)
    model = _Extra()
    whole = model.evaluate(hardware, workload, mappings)
    chunked = evaluate_in_chunks(model, hardware, workload, mappings, max_designs=3)
    assert model.calls == [10, 3, 3, 3, 1]  # 10 = 3 + 3 + 3 + 1
    _assert_same(whole, chunked)


def test_chunked_cost_model_wraps_and_forwards_attributes():
    hardware, workload, mappings = _batch(5)
    inner = AnalyticalCostModel()
    wrapped = ChunkedCostModel(inner, max_designs=2)
    assert wrapped.technology is inner.technology
    _assert_same(inner.evaluate(hardware, workload, mappings),
                 wrapped.evaluate(hardware, workload, mappings))


def test_chunk_size_follows_the_byte_budget(monkeypatch):
    """10 layers x 4096 B = 40,960 B per design: 1 MiB holds 25 designs, 100 kB holds 2."""
    assert chunk_designs(10 * BYTES_PER_DESIGN_LAYER, max_bytes=2**20) == 25
    assert chunk_designs(10 * BYTES_PER_DESIGN_LAYER, max_bytes=100_000) == 2
    assert chunk_designs(10 * BYTES_PER_DESIGN_LAYER, max_bytes=1) == 1  # never 0
    monkeypatch.setenv(ENV_MAX_BATCH_BYTES, "1e6")
    assert max_batch_bytes() == 1_000_000
    assert chunk_designs(10 * BYTES_PER_DESIGN_LAYER) == 24  # 1e6 // 40960
    monkeypatch.setenv(ENV_MAX_BATCH_BYTES, "lots")
    with pytest.raises(ConfigError, match="CODESIGN_MAX_BATCH_BYTES='lots'"):
        max_batch_bytes()


def test_a_tiny_env_budget_forces_many_chunks_with_the_same_result(monkeypatch):
    hardware, workload, mappings = _batch(7)
    model = _Extra()
    whole = model.evaluate(hardware, workload, mappings)
    monkeypatch.setenv(ENV_MAX_BATCH_BYTES, str(2 * 3 * BYTES_PER_DESIGN_LAYER))  # 2 designs
    _assert_same(whole, evaluate_in_chunks(model, hardware, workload, mappings))
    assert model.calls == [7, 2, 2, 2, 1]


_UNDER_A_CAP = textwrap.dedent("""
    import os, resource, torch
    torch.set_num_threads(1)
    from codesign.arch.accelerator import Accelerator
    from codesign.arch.batch import HardwareBatch
    from codesign.cost.analytical import AnalyticalCostModel
    from codesign.cost.chunked import available_memory_bytes, evaluate_in_chunks
    from codesign.mapping.batch import MappingBatch, WorkloadTensors
    from codesign.workload.layer import Layer, LayerTable
    B, L = 20000, 20
    table = LayerTable.from_layers([Layer.conv(K=8 + i, C=4, P=8, Q=8, R=3, S=3)
                                    for i in range(L)])
    w = WorkloadTensors.from_table(table)
    hw = HardwareBatch.from_accelerators([Accelerator()]).repeat_interleave(B)
    f = torch.ones(B, L, 5, 8, dtype=torch.int64)
    f[:, :, 0, :] = w.dims
    m = MappingBatch(f, torch.arange(8).expand(B, L, 3, 8).contiguous())
    used = int(open("/proc/self/statm").read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    resource.setrlimit(resource.RLIMIT_AS, (used + 300 * 2**20, resource.RLIM_INFINITY))
    assert available_memory_bytes() <= 300 * 2**20
    try:
        AnalyticalCostModel().evaluate(hw, w, m)
        print("unchunked fits")
    except (RuntimeError, MemoryError):
        print("unchunked fails")
    r = evaluate_in_chunks(AnalyticalCostModel(), hw, w, m)
    print("chunked", r.latency_cycles.shape[0], bool((r.latency_cycles > 0).all()))
""")


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS and /proc: Linux")
def test_a_batch_too_big_for_a_memory_cap_is_evaluated_in_chunks():
    """20,000 designs x 20 layers under a 300 MiB address-space cap: one call runs out of
    memory (about 1 kB per design-layer pair = 400 MB), chunks sized from the cap finish."""
    out = subprocess.run([sys.executable, "-c", _UNDER_A_CAP], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[:2] == ["unchunked fails", "chunked 20000 True"], out.stdout
