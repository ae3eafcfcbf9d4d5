"""resolve_device: the one place a user's --device name becomes a torch.device."""

import pytest
import torch

from codesign.device import resolve_device
from codesign.errors import ConfigError


def test_cpu_and_auto():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device().type == expected
    assert resolve_device("AUTO").type == expected


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_absent_says_what_to_do():
    message = "CUDA is not available on this machine; use --device cpu"
    with pytest.raises(ConfigError, match=message):
        resolve_device("cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_present():
    assert resolve_device("cuda").type == "cuda"


@pytest.mark.parametrize("name", ["gpu", "tpu", "", "cuda:x"])
def test_unknown_name(name):
    with pytest.raises(ConfigError, match="unknown device"):
        resolve_device(name)
