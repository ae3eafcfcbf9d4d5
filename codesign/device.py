"""Pick the torch device once, at the API boundary (``--device auto|cpu|cuda``).

Library code below the API follows its inputs' device; only the entry points (`map_layers`,
the CLI, the explore driver) turn a user's device name into a `torch.device` here.
"""

from __future__ import annotations

import torch

from codesign.errors import ConfigError

__all__ = ["DEVICE_NAMES", "resolve_device"]

#: Names a user may pass as ``--device``.
DEVICE_NAMES: tuple[str, ...] = ("auto", "cpu", "cuda")


def resolve_device(name: str = "auto") -> torch.device:
    """The `torch.device` for a user's device name.

    ``"auto"`` picks CUDA when it is available and the CPU otherwise; ``"cuda"`` on a machine
    without CUDA, or an unknown name, raises `ConfigError` saying what to pass instead.
    ``"cuda:1"``-style indices are accepted.

    >>> resolve_device("cpu")
    device(type='cpu')
    """
    if not isinstance(name, str):
        raise ConfigError(f"--device: expected one of {', '.join(DEVICE_NAMES)}, got {name!r}")
    key = name.strip().lower()
    if key == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if key == "cpu":
        return torch.device("cpu")
    if key == "cuda" or (key.startswith("cuda:") and key[5:].isdigit()):
        if not torch.cuda.is_available():
            raise ConfigError(f"--device {name}: CUDA is not available on this machine; "
                              "use --device cpu")
        index = int(key[5:]) if ":" in key else None
        if index is not None and index >= torch.cuda.device_count():
            raise ConfigError(f"--device {name}: this machine has {torch.cuda.device_count()} "
                              f"CUDA device(s); use an index below that or --device cuda")
        return torch.device(key)
    raise ConfigError(f"--device {name!r}: unknown device; use one of "
                      f"{', '.join(DEVICE_NAMES)}")
