"""`WorkloadMix`: several workloads explored together, for one accelerator that runs them all.

An architect asks for one chip for ResNet-50, BERT and MobileNetV2: every design is judged
on each model and on the mix. The mix holds each workload's own `LayerTable` and how many
inferences of it the mix runs (its ``weight``, a positive integer: the inference mix is
counted in whole inferences, and as a Pareto front is the same when every weight is scaled
by one factor, ``0.3 : 0.7`` is ``3 : 7``).

Its `union` is one `LayerTable` of the unique layer shapes of all workloads (first-seen
order): a shape two models share is one row, so it gets one set of mapping genes (one
mapper search) and the same mapping in both. Its count is the layer's occurrences in the
mix (``sum_w weight_w * count_w``); its node names and the vector ops carry their
workload's name (``resnet50/conv1``). `layer_index` says where each workload's layers sit in
the union, `count_matrix` how often each union layer occurs in one inference of each
workload (``[W, L]``).

Workload names (a file's stem by default) are what per-workload objectives are called by
(``latency@resnet50``, `codesign.names.workload_objective`), so they are checked here once:
1-64 letters, digits or ``_.+-``, distinct.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from codesign.errors import ConfigError, did_you_mean, joined_problems, short_repr
from codesign.workload.layer import LayerTable

__all__ = ["WorkloadMix", "check_weights", "workload_names"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")


def workload_names(paths: Sequence[str | Path]) -> tuple[str, ...]:
    """Each workload's name: its file's (or folder's) stem; a `ConfigError` naming every
    stem that is no valid name or that two paths share.

    >>> workload_names(["models/resnet18.onnx", "b/mobilenet_v2.onnx"])
    ('resnet18', 'mobilenet_v2')
    """
    names = tuple(Path(p).stem for p in paths)
    problems = [_name_problem(n, str(p)) for n, p in zip(names, paths, strict=True)]
    problems = [p for p in problems if p]
    for name in dict.fromkeys(n for n in names if names.count(n) > 1):
        clashing = [str(p) for n, p in zip(names, paths, strict=True) if n == name]
        problems.append(f"workloads {', '.join(clashing)} are all named {name!r} (their file "
                        "stem): rename or copy one so that each has its own name")
    if problems:
        raise ConfigError("explore: " + joined_problems(problems))
    return names


def _name_problem(name: str, where: str) -> str | None:
    if _NAME.match(name):
        return None
    return (f"workload {where}: name {short_repr(name)} must be 1-64 letters, digits or _.+- "
            "(it names the per-workload objectives, e.g. latency@name); rename the file")


def check_weights(weights: Mapping[str, int] | None, names: Sequence[str]
                  ) -> tuple[int, ...]:
    """Each workload's weight (inferences in the mix; 1 when not given), in ``names``
    order; a `ConfigError` naming every unknown name and every weight that is no integer
    >= 1.

    >>> check_weights({"b": 3}, ["a", "b"])
    (1, 3)
    """
    weights = dict(weights or {})
    problems = []
    for name, weight in weights.items():
        if name not in names:
            problems.append(f"weight of unknown workload {short_repr(name)}"
                            f"{did_you_mean(name, names)} (workloads: {', '.join(names)})")
        elif not isinstance(weight, int) or isinstance(weight, bool) or weight < 1:
            problems.append(f"weight of {name} must be an integer >= 1 (inferences in the "
                            f"mix), got {short_repr(weight)}")
    if problems:
        raise ConfigError("explore: " + joined_problems(problems))
    return tuple(int(weights.get(n, 1)) for n in names)


@dataclass(frozen=True)
class WorkloadMix:
    """Workloads explored together: names, tables and weights, in the user's order.

    >>> from codesign.workload.layer import Layer
    >>> a = LayerTable.from_layers([Layer.gemm(M=4, K=8, N=8, name="x"),
    ...                             Layer.gemm(M=2, K=2, N=2, name="y")])
    >>> b = LayerTable.from_layers([Layer.gemm(M=4, K=8, N=8, name="z")])
    >>> mix = WorkloadMix(("a", "b"), (a, b), (1, 2))
    >>> len(mix.union), mix.union.counts, mix.layer_index, mix.count_matrix
    (2, (3, 1), ((0, 1), (0,)), ((1, 1), (1, 0)))
    >>> mix.union.names[0]
    ('a/x', 'b/z')
    """

    names: tuple[str, ...]
    tables: tuple[LayerTable, ...]
    weights: tuple[int, ...]

    def __post_init__(self) -> None:
        assert len(self.names) == len(self.tables) == len(self.weights) >= 1

    @classmethod
    def from_tables(cls, tables: Mapping[str, LayerTable],
                    weights: Mapping[str, int] | None = None) -> WorkloadMix:
        """A mix of named tables (checked names; weights by name, 1 when not given)."""
        names = tuple(tables)
        problems = [p for n in names if (p := _name_problem(n, repr(n)))]
        if problems:
            raise ConfigError("explore: " + joined_problems(problems))
        return cls(names, tuple(tables.values()), check_weights(weights, names))

    @property
    def n_workloads(self) -> int:
        return len(self.names)

    @functools.cached_property
    def _keys(self) -> tuple[tuple, ...]:
        """The union's layer shapes, first-seen order."""
        return tuple(dict.fromkeys(layer.shape_key for t in self.tables for layer in t.layers))

    @functools.cached_property
    def layer_index(self) -> tuple[tuple[int, ...], ...]:
        """Per workload, the union row of each of its unique layers (its table's order)."""
        where = {key: i for i, key in enumerate(self._keys)}
        return tuple(tuple(where[layer.shape_key] for layer in t.layers) for t in self.tables)

    @functools.cached_property
    def count_matrix(self) -> tuple[tuple[int, ...], ...]:
        """``[W, L]`` occurrences of each union layer in one inference of each workload."""
        rows = []
        for table, index in zip(self.tables, self.layer_index, strict=True):
            row = [0] * len(self._keys)
            for i, count in zip(index, table.counts, strict=True):
                row[i] += count  # a table may hold one shape twice
            rows.append(tuple(row))
        return tuple(rows)

    @functools.cached_property
    def union(self) -> LayerTable:
        """One table of every workload's layers (module docstring): counts are the mix's
        occurrences, node and vector-op names carry their workload's name."""
        n_l = len(self._keys)
        layers: list = [None] * n_l
        names: list[list[str]] = [[] for _ in range(n_l)]
        for w, table in enumerate(self.tables):
            for layer, i, nodes in zip(table.layers, self.layer_index[w], table.names,
                                       strict=True):
                layers[i] = layers[i] or layer
                names[i].extend(f"{self.names[w]}/{n}" for n in nodes)
        counts = tuple(sum(wt * row[i] for wt, row in zip(self.weights, self.count_matrix,
                                                          strict=True)) for i in range(n_l))
        vectors = tuple(
            replace(op, name=f"{name}/{op.name}",
                    fused_into=f"{name}/{op.fused_into}" if op.fused_into else "")
            for name, table in zip(self.names, self.tables, strict=True)
            for op in table.vector_ops)
        return LayerTable(tuple(layers), counts, tuple(tuple(n) for n in names), vectors)

    @property
    def vector_slices(self) -> tuple[slice, ...]:
        """Per workload, where its vector ops sit in the union's."""
        out, start = [], 0
        for table in self.tables:
            out.append(slice(start, start + len(table.vector_ops)))
            start += len(table.vector_ops)
        return tuple(out)

    def to_dict(self) -> list[dict]:
        """run.json's ``workloads``: each workload's name, weight and size."""
        return [{"name": n, "weight": w, "n_unique_layers": len(t), "n_mac_layers":
                 t.n_mac_layers, "total_macs": t.total_macs}
                for n, t, w in zip(self.names, self.tables, self.weights, strict=True)]
