"""Readable layer labels for plots and the report, from the raw ONNX node names.

Exporters name nodes after module paths and op types (``/encoder/layers.0/attn/q/MatMul``
from torch's exporter, ``node_MatMul_12`` from dynamo): `readable_name` turns a path into
the module's dotted name, and `layer_label` names a unique layer that stands for several
identical ones by what their names share (``encoder.layers.*.attn.q ×12``), cut to a length
that fits under a plot's axis. The full names stay in designs.json and the tooltips.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

__all__ = ["MAX_LABEL_CHARS", "layer_label", "readable_name"]

#: Characters of a layer label at most (longer ones lose their middle to an ellipsis).
MAX_LABEL_CHARS = 40
_OP_TYPE = re.compile(r"^[A-Z][A-Za-z]*(_\d+)?$")  # Conv, MatMul, Gemm_3: not a module name


def readable_name(name: str) -> str:
    """A node name as a module path: ``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1``.

    Path segments that repeat their parent's prefix (torch writes ``layer1/layer1.0``) are
    merged, and a last segment that is only the op type is dropped. Names that are not
    paths are kept.

    >>> readable_name("/layer1/layer1.0/conv1/Conv")
    'layer1.0.conv1'
    >>> readable_name("/encoder/layers.0/attn/q/MatMul")
    'encoder.layers.0.attn.q'
    >>> readable_name("/conv1/conv1/Conv")
    'conv1'
    >>> readable_name("features.1.conv.0.0"), readable_name("node_MatMul_12")
    ('features.1.conv.0.0', 'node_MatMul_12')
    """
    if "/" not in name:
        return name
    parts = [p for p in name.split("/") if p]
    if len(parts) > 1 and _OP_TYPE.match(parts[-1]):
        parts = parts[:-1]
    out = ""
    for part in parts:
        if out and (part == out or out.endswith("." + part)):
            continue  # a segment that repeats the one before (/conv1/conv1/Conv)
        out = part if not out or part.startswith(out + ".") else f"{out}.{part}"
    return out or name


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    keep = limit - 1
    return text[: keep // 2] + "…" + text[len(text) - (keep - keep // 2):]


def _common_part(parts: Sequence[str]) -> str:
    """``layer1``, ``layer2`` -> ``layer*``; equal parts stay; nothing shared -> ``*``."""
    if len(set(parts)) == 1:
        return parts[0]
    return os.path.commonprefix(list(parts)) + "*"


def layer_label(names: Sequence[str], count: int = 1, fallback: str = "layer",
                limit: int = MAX_LABEL_CHARS) -> str:
    """One short label for a unique layer that stands for ``count`` layers named ``names``.

    Dotted names with as many parts show what each part shares, ``*`` for the rest; a
    count above one is written ``×N``.

    >>> layer_label(["encoder.layers.0.attn.q", "encoder.layers.1.attn.q"], 2)
    'encoder.layers.*.attn.q ×2'
    >>> layer_label(["layer1.0.conv3", "layer1.1.conv3", "layer2.1.conv3"], 3)
    'layer*.*.conv3 ×3'
    >>> layer_label(["layer1.0.conv1"])
    'layer1.0.conv1'
    >>> layer_label([], 1, fallback="layer 3")
    'layer 3'
    """
    readable = [readable_name(str(n)) for n in names if str(n)]
    suffix = f" ×{count}" if count > 1 else ""
    if not readable:
        return fallback + suffix
    text = readable[0]
    split = [n.split(".") for n in readable]
    if len(readable) > 1 and len({len(s) for s in split}) == 1:
        common = [_common_part(parts) for parts in zip(*split, strict=True)]
        if any(part != "*" for part in common):
            text = ".".join(common)
    return _shorten(text, max(limit - len(suffix), 8)) + suffix
