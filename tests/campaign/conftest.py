"""A small campaign: two workloads (the tiny conv+gemm model under two names) x two
design spaces x the given seeds, at a budget of seconds per job."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

FAST = {"population": 6, "generations": 2, "mapper_candidates": 4, "mapper_steps": 1}


@pytest.fixture
def campaign_file(tmp_path, conv_gemm_onnx):
    def write(seeds=(0,), budget=FAST, **extra) -> Path:
        (tmp_path / "small.yaml").write_text("pe_rows: [4, 8]\npe_cols: [4, 8]\n")
        data = {"workloads": {"a": conv_gemm_onnx, "b": conv_gemm_onnx},
                "spaces": {"default": None, "small": "small.yaml"},
                "seeds": list(seeds), "device": "cpu", **extra}
        if budget is not None:
            data["budget"] = dict(budget)
        path = tmp_path / "campaign.yaml"
        path.write_text(yaml.safe_dump(data))
        return path
    return write
