"""Tests for codesign/results/names.py: readable layer labels from exporters' node names."""

from __future__ import annotations

import pytest

from codesign.results.names import MAX_LABEL_CHARS, layer_label, readable_name


@pytest.mark.parametrize(("raw", "readable"), [
    ("/layer1/layer1.0/conv1/Conv", "layer1.0.conv1"),                    # torch legacy
    ("/encoder/layers.3/mlp/fc1/Gemm", "encoder.layers.3.mlp.fc1"),
    ("/features/features.0/features.0.0/Conv", "features.0.0"),
    ("/conv1/Conv_2", "conv1"),
    ("node_Conv_17", "node_Conv_17"),                                       # dynamo: kept
    ("conv1", "conv1"), ("/", "/"), ("a/b", "a.b"),
])
def test_readable_name(raw, readable):
    assert readable_name(raw) == readable


def test_a_label_names_what_the_layers_share_and_their_count():
    names = [f"/encoder/layers.{i}/attn/k/MatMul" for i in range(12)]
    assert layer_label(names, 12) == "encoder.layers.*.attn.k ×12"
    assert layer_label(["a.conv1", "b.conv2"], 2) == "*.conv*" + " ×2"
    assert layer_label(["x.y", "p.q.r"], 2) == "x.y ×2"  # no common shape: the first name


def test_long_labels_keep_both_ends_within_the_limit():
    label = layer_label(["head." + "very_long_module_name_" * 4 + "out"], 3)
    assert len(label) == MAX_LABEL_CHARS and "…" in label
    assert label.startswith("head.") and label.endswith("out ×3")
