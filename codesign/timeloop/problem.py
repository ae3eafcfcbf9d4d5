"""Timeloop v0.4 problem files (``shape`` + ``instance``) as a `Layer`.

Any einsum-like shape a `Layer` can express is accepted: each dim is classified by the data
spaces that use it (weights and outputs only: K; inputs and outputs: N, or P/Q when paired
with a filter dim in a sliding-window projection ``[[R, Wdilation], [P, Wstride]]``; weights
and inputs: C, or R/S in such a pair; all three: G). A shape outside that (a dim used by one
data space only, two batch-like dims, a projection coefficient on a lone dim) is refused
with the reason. Coefficients (strides, dilations) are matched by name, a key that
differs only in case (``HStride`` for ``Hstride``) taking precedence.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from codesign.errors import ConfigError, short_repr
from codesign.timeloop.files import load_yaml, section
from codesign.workload.layer import DIMS, TENSORS, Layer

__all__ = ["TimeloopProblem", "parse_problem", "read_problem"]


@dataclass(frozen=True)
class TimeloopProblem:
    """A problem as a `Layer`, with the file's names for dims and data spaces.

    ``dim_names[ours] = theirs`` (e.g. ``{"K": "M"}``) for the dims the file uses;
    ``dataspace_names[t]`` for t in W, I, O.
    """

    layer: Layer
    dim_names: dict[str, str] = field(default_factory=dict)
    dataspace_names: dict[str, str] = field(default_factory=dict)

    @property
    def our_dim(self) -> dict[str, str]:
        """Theirs -> ours."""
        return {v: k for k, v in self.dim_names.items()}

    @property
    def tensor_of(self) -> dict[str, str]:
        """Data-space name -> W/I/O."""
        return {v: k for k, v in self.dataspace_names.items()}


def _terms(projection, where: str) -> list[list[tuple[str, str | None]]]:
    """Each projection axis as a list of (dim, coefficient name or None) terms."""
    axes = []
    if not isinstance(projection, list):
        raise ConfigError(f"{where}: projection must be a list, got {short_repr(projection)}")
    for axis in projection:
        if not isinstance(axis, list) or not axis:
            raise ConfigError(f"{where}: projection axis must be a list of terms, got "
                              f"{short_repr(axis)}")
        terms = []
        for term in axis:
            if not isinstance(term, list) or not 1 <= len(term) <= 2 \
                    or not all(isinstance(x, str) for x in term):
                raise ConfigError(f"{where}: projection term must be [dim] or [dim, "
                                  f"coefficient], got {short_repr(term)}")
            terms.append((term[0], term[1] if len(term) == 2 else None))
        axes.append(terms)
    return axes


def parse_problem(data, path: str | os.PathLike = "problem") -> TimeloopProblem:
    """A `TimeloopProblem` from parsed YAML (the ``problem:`` section or the file)."""
    data = section(data, "problem", path)
    if not isinstance(data, dict) or "shape" not in data or "instance" not in data:
        raise ConfigError(f"{path}: a problem needs 'shape' and 'instance'")
    shape, instance = data["shape"], data["instance"]
    if not isinstance(shape, dict) or not isinstance(instance, dict):
        raise ConfigError(f"{path}: 'shape' and 'instance' must be mappings")
    dims = shape.get("dimensions")
    if not isinstance(dims, list) or not dims or not all(isinstance(d, str) for d in dims):
        raise ConfigError(f"{path}: shape.dimensions must be a list of names")
    coeffs = {}
    for c in shape.get("coefficients") or []:
        if not isinstance(c, dict) or "name" not in c:
            raise ConfigError(f"{path}: shape.coefficients entries need a name")
        coeffs[c["name"]] = c.get("default", 1)
    problems = []
    bounds = {}
    for d in dims:
        value = instance.get(d, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            problems.append(f"instance.{d} must be a positive integer, got {short_repr(value)}")
        bounds[d] = value
    for name in coeffs:
        # a key that differs only in case wins: the reference's layer shapes folders write
        # HStride: 2 beside their base's Hstride: 1 (ResNet-18's conv1, 224 -> 112 rows)
        other = [k for k in instance if isinstance(k, str) and k != name
                 and k.lower() == name.lower()]
        if other:
            coeffs[name] = instance[other[-1]]
        elif name in instance:
            coeffs[name] = instance[name]
    spaces = shape.get("data_spaces")
    if not isinstance(spaces, list) or len(spaces) != 3:
        raise ConfigError(f"{path}: shape.data_spaces must list 3 data spaces (weights, "
                          f"inputs, outputs); a Layer has exactly those")
    if problems:
        raise ConfigError(f"{path}: " + "; ".join(problems))
    parsed = []
    for i, ds in enumerate(spaces):
        if not isinstance(ds, dict) or "name" not in ds or "projection" not in ds:
            raise ConfigError(f"{path}: data_spaces[{i}] needs a name and a projection")
        parsed.append((ds["name"], _terms(ds["projection"], f"{path}: {ds['name']}"),
                       bool(ds.get("read_write", False))))
    outs = [p for p in parsed if p[2]]
    if len(outs) != 1:
        raise ConfigError(f"{path}: exactly one data space must be read_write (the outputs)")
    others = [p for p in parsed if not p[2]]
    # the inputs are the operand with a sliding-window (multi-term) axis; else by name
    def score(p):
        name = p[0].lower()
        return (any(len(axis) > 1 for axis in p[1]), "input" in name or "ifmap" in name)
    w_space, i_space = sorted(others, key=score)
    o_space = outs[0]
    names = {"W": w_space[0], "I": i_space[0], "O": o_space[0]}

    def dims_of(space):
        return {term[0] for axis in space[1] for term in axis}

    used = {t: dims_of(s) for t, s in zip(TENSORS, (w_space, i_space, o_space), strict=True)}
    unknown = sorted(set().union(*used.values()) - set(dims))
    if unknown:
        raise ConfigError(f"{path}: projections use undeclared dims {unknown}")
    ours: dict[str, str] = {}
    stride, dilation = [1, 1], [1, 1]
    pairs = [axis for axis in i_space[1] if len(axis) > 1]
    if len(pairs) > 2:
        raise ConfigError(f"{path}: {i_space[0]} has {len(pairs)} sliding-window axes; a "
                          f"Layer has two (rows, cols)")
    for k, axis in enumerate(pairs):
        if len(axis) != 2:
            raise ConfigError(f"{path}: {i_space[0]}: a window axis must add two terms, got "
                              f"{short_repr(axis)}")
        (a, ca), (b, cb) = axis
        out_dim, filt = (a, b) if a in used["O"] else (b, a)
        oc, fc = (ca, cb) if a in used["O"] else (cb, ca)
        if out_dim not in used["O"] or filt not in used["W"] or filt in used["O"]:
            raise ConfigError(f"{path}: {i_space[0]}: window axis {short_repr(axis)} must add an "
                              f"output dim and a filter dim")
        p, r = ("P", "R") if k == 0 else ("Q", "S")
        ours[p], ours[r] = out_dim, filt
        for coef, target, idx in ((oc, stride, k), (fc, dilation, k)):
            if coef is not None:
                value = coeffs.get(coef, instance.get(coef))
                if not isinstance(value, int) or value < 1:
                    raise ConfigError(f"{path}: coefficient {coef!r} must be a positive "
                                      f"integer, got {short_repr(value)}")
                target[idx] = value
    for axis in (*w_space[1], *o_space[1], *(a for a in i_space[1] if len(a) == 1)):
        if len(axis) == 1 and axis[0][1] is not None:
            raise ConfigError(f"{path}: coefficient {axis[0][1]!r} on the lone dim "
                              f"{axis[0][0]!r} is not expressible as a Layer")
    taken = set(ours.values())
    for d in dims:
        if d in taken:
            continue
        roles = tuple(d in used[t] for t in TENSORS)
        role = {(True, True, True): "G", (True, False, True): "K", (True, True, False): "C",
                (False, True, True): "N"}.get(roles)
        if role is None:
            if not any(roles) and bounds[d] == 1:
                continue
            raise ConfigError(f"{path}: dim {d!r} is used only by "
                              f"{[names[t] for t, u in zip(TENSORS, roles, strict=True) if u]}"
                              f"; a Layer cannot express it")
        if role == "N" and "N" in ours:
            role = "P" if "P" not in ours else ("Q" if "Q" not in ours else None)
        if role is None or role in ours:
            raise ConfigError(f"{path}: dims {ours.get(role)!r} and {d!r} both act as "
                              f"{role or 'batch'}; a Layer has one of each")
        ours[role] = d
    values = {o: bounds[t] for o, t in ours.items()}
    layer = Layer(*(values.get(d, 1) for d in DIMS), stride=tuple(stride),
                  dilation=tuple(dilation), name=str(shape.get("name", "")))
    return TimeloopProblem(layer, ours, names)


def read_problem(path: str | os.PathLike) -> TimeloopProblem:
    return parse_problem(load_yaml(path), path)
