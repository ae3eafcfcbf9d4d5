"""The run checkpoint: JSON + ``.npz`` (never pickle), written atomically (`codesign.atomic`,
re-exported here).

A checkpoint is ``checkpoint.npz``: the arrays (the population and the archive) plus the
JSON state (counters, history, bounds) as a byte array, so one `os.replace` moves a whole
consistent checkpoint into place and a process killed at any moment leaves the previous one
or the new one. ``checkpoint.json`` is a readable copy of the state written after it (older
checkpoints without the embedded state are read from it, checked to name the same
generation).
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from codesign.atomic import atomic_write_bytes, atomic_write_text
from codesign.errors import ConfigError, RunError

__all__ = [
    "CHECKPOINT_ARRAYS",
    "CHECKPOINT_JSON",
    "DEFAULT_CHECKPOINT_INTERVAL_S",
    "CheckpointWriter",
    "atomic_write_bytes",
    "atomic_write_text",
    "read_checkpoint",
    "write_checkpoint",
]

CHECKPOINT_JSON = "checkpoint.json"
CHECKPOINT_ARRAYS = "checkpoint.npz"
#: Array in ``checkpoint.npz`` holding the UTF-8 JSON state.
_STATE_KEY = "_state_json"
#: Seconds between two checkpoints of a running search (`CheckpointWriter`): a write with
#: its fsyncs costs ~20 ms, a ResNet-50 generation ~0.1 s, so writing every generation
#: took a tenth of the run; a crash loses at most this much search, a Ctrl-C nothing.
DEFAULT_CHECKPOINT_INTERVAL_S = 5.0


class CheckpointWriter:
    """Checkpoints a run on a time cadence: `maybe_write` writes the first time, then only
    when ``interval_s`` seconds have passed since the last write, or when forced
    (the end of the search, the remap, an interrupt: the caller's final write).

    ``state`` is anything with ``to_checkpoint() -> (state dict, arrays)`` (a `RunState`).

    >>> import tempfile
    >>> class State:
    ...     def to_checkpoint(self):
    ...         return {"generation": 1}, {"generation": np.array(1)}
    >>> now = [0.0]
    >>> writer = CheckpointWriter(tempfile.mkdtemp(), interval_s=5.0, clock=lambda: now[0])
    >>> writer.maybe_write(State()), writer.maybe_write(State())
    (True, False)
    >>> now[0] = 6.0; writer.maybe_write(State()), writer.maybe_write(State(), force=True)
    (True, True)
    """

    def __init__(self, folder: str | Path, interval_s: float = DEFAULT_CHECKPOINT_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.folder = Path(folder)
        self.interval_s = float(interval_s)
        self.clock = clock
        self.last_s: float | None = None

    def maybe_write(self, state: Any, force: bool = False) -> bool:
        """Write ``state``'s checkpoint if it is due (or ``force``); whether it wrote."""
        if not force and self.last_s is not None \
                and self.clock() - self.last_s < self.interval_s:
            return False
        write_checkpoint(self.folder, *state.to_checkpoint())
        self.last_s = self.clock()
        return True


def write_checkpoint(folder: str | Path, state: dict[str, Any],
                     arrays: dict[str, np.ndarray]) -> None:
    """Save a JSON-ready ``state`` and plain numeric ``arrays`` atomically."""
    folder = Path(folder)
    plain = {k: np.asarray(v) for k, v in arrays.items()}
    objects = [k for k, v in plain.items() if v.dtype.hasobject]
    if objects:  # would need pickle to load: a bug in the caller
        raise ValueError(f"checkpoint arrays must be numeric, got objects in {objects}")
    text = json.dumps(state, indent=1) + "\n"
    plain[_STATE_KEY] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    buffer = io.BytesIO()
    np.savez(buffer, **plain)
    atomic_write_bytes(folder / CHECKPOINT_ARRAYS, buffer.getvalue())  # the checkpoint
    atomic_write_text(folder / CHECKPOINT_JSON, text)  # a readable copy


def read_checkpoint(folder: str | Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Load a checkpoint written by `write_checkpoint` (``allow_pickle=False``)."""
    folder = Path(folder)
    json_path, npz_path = folder / CHECKPOINT_JSON, folder / CHECKPOINT_ARRAYS
    if not npz_path.is_file():
        raise RunError(f"{folder}: no checkpoint to resume from (expected {CHECKPOINT_ARRAYS})"
                       "; start a new run with --out instead")
    try:
        with np.load(npz_path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
        embedded = arrays.pop(_STATE_KEY, None)
        if embedded is not None:
            state = json.loads(embedded.astype(np.uint8).tobytes().decode("utf-8"))
        elif json_path.is_file():  # a checkpoint from before the state was embedded
            state = json.loads(json_path.read_text())
        else:
            raise ConfigError(f"{npz_path}: no checkpoint state inside and no "
                              f"{CHECKPOINT_JSON}; start a new run with --out instead")
    except PermissionError as exc:
        raise RunError(f"{npz_path}: cannot read the checkpoint ({exc.strerror}); check its "
                       "permissions") from None
    except EOFError:  # np.load of an empty file (never to be taken for Ctrl-D)
        raise ConfigError(f"{npz_path}: the checkpoint is empty (0 bytes: the disk was full "
                          "or the file was cut); start a new run") from None
    except zipfile.BadZipFile as exc:
        raise ConfigError(f"{npz_path}: the checkpoint is damaged, not a whole .npz file "
                          f"({exc}); start a new run") from None
    except (OSError, ValueError, RecursionError, zipfile.LargeZipFile) as exc:
        raise ConfigError(f"{npz_path}: the checkpoint is unreadable "
                          f"({type(exc).__name__}: {str(exc)[:200]}); start a new run") from None
    generation = arrays.get("generation")
    if not isinstance(state, dict) or generation is None or generation.shape != () \
            or generation.dtype.kind not in "iu":
        raise ConfigError(f"{npz_path}: not a checkpoint codesign wrote (no generation "
                          "number); start a new run")
    if int(generation) != state.get("generation"):
        raise ConfigError(f"{npz_path}: its arrays and its state ({CHECKPOINT_JSON} for an "
                          "older checkpoint) are from different generations (interrupted "
                          "while saving, or edited); start a new run")
    return state, arrays
