"""Host syncs per generation of the nested search: the mapper never reads the device back.

On a GPU every read-back (``.item()``, ``bool(t)``, ``.tolist()``, ``.cpu()``, ``nonzero``)
stalls the queue of kernels, so one generation's torch work is counted here, with each such
method wrapped by a counter. A generation (`BatchEvaluator.evaluate` with a warm-start
memory, as nested runs do) may read back ``SYNCS_PER_GENERATION`` times:

* 1 in `search_mappings`: every dim's largest bound and the largest array, sizing the
  prime tables and naming the dims the seed fills can skip;
* 1 in `fit_to_array`: the largest spatial factor and how many halving rounds the
  warm-start mappings from the memory need (the rounds then run without a read-back);
* 1 in `Infeasibility.add`: the violation counts, one ``tolist``;
* 5 in `BatchEvaluator._evaluate_chunk`: objectives, constraints, feasibility, factors
  and order handed to numpy (pymoo and the archive), one ``.cpu()`` each;
* 3 in `BatchEvaluator._nested`: the mapper memory's factors, order and rank keys;
* 1 in `BatchEvaluator._outputs`: the not-finite count (until the first warning).

None is inside the mapper's steps, moves, seeds or decoding, whatever their number.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

from codesign.arch.space import DesignSpace
from codesign.cost.analytical import AnalyticalCostModel
from codesign.mapping.batch import WorkloadTensors
from codesign.search.memory import MappingMemory
from codesign.search.problem import BatchEvaluator, MapperEffort
from codesign.workload.layer import Layer, LayerTable

TABLE = LayerTable.from_layers([Layer.conv(K=16, C=8, P=8, Q=8, R=3, S=3, name="c"),
                                Layer.conv(K=64, C=32, P=7, Q=7, R=1, S=1, name="pw"),
                                Layer.gemm(M=4, K=32, N=16, name="fc")])
#: read-backs one generation may make (listed in the module docstring)
SYNCS_PER_GENERATION = 12
#: the tensor methods that wait for the device and copy to the host (``.numpy()`` needs a
#: CPU tensor, so a device tensor passes a counted ``.cpu()`` first)
_SYNCING = ("item", "tolist", "cpu", "nonzero", "__bool__", "__int__", "__float__",
            "__index__")


@contextlib.contextmanager
def count_syncs():
    """Count calls of the syncing tensor methods (``counts[name]``) while active."""
    counts = dict.fromkeys(_SYNCING, 0)
    saved = {name: getattr(torch.Tensor, name) for name in _SYNCING}

    def wrap(name):
        inner = saved[name]

        def counted(self, *args, **kwargs):
            counts[name] += 1
            return inner(self, *args, **kwargs)
        return counted

    for name in _SYNCING:
        setattr(torch.Tensor, name, wrap(name))
    try:
        yield counts
    finally:
        for name, method in saved.items():
            setattr(torch.Tensor, name, method)


def test_the_counter_sees_each_kind_of_read_back():
    t = torch.tensor([1.0, 2.0])
    with count_syncs() as counts:
        t.sum().item(), t.tolist(), bool(t[0]), int(t[1]), float(t[0]), t.nonzero()
    assert all(counts[name] == 1 for name in ("item", "tolist", "__bool__", "__int__",
                                              "__float__", "nonzero"))


@pytest.mark.parametrize("effort", [MapperEffort(4, 1), MapperEffort(8, 4), MapperEffort(16, 12)])
def test_a_nested_generation_reads_back_a_fixed_few_times(effort):
    ev = BatchEvaluator(DesignSpace(), WorkloadTensors.from_table(TABLE), AnalyticalCostModel(),
                        ("latency", "energy", "area"), mode="nested", effort=effort, seed=1)
    ev.memory = MappingMemory(effort.objective)
    x = np.random.default_rng(0).random((6, ev.n_var))
    ev.evaluate(x)  # fills the memory: the next generation warm-starts from it
    with count_syncs() as counts:
        ev.evaluate(x[::-1].copy())
    total = sum(counts.values())
    assert total <= SYNCS_PER_GENERATION, {k: v for k, v in counts.items() if v}
