"""Atomic file writes: a reader (or a run killed half-way) sees the old file or the new one,
never a part of either.

Every file codesign writes goes through `atomic_write_bytes`: the data goes to a temporary
file in the same folder (so the final rename never crosses file systems), is flushed to
disk, and is moved into place with `os.replace`, which is atomic on POSIX and Windows. The
temporary file is removed if anything (an error, Ctrl-C) interrupts the write. It sits in
no stage of the data flow, so every stage may use it.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from codesign.errors import ConfigError, RunError

__all__ = ["TEMP_SUFFIX", "atomic_write_bytes", "atomic_write_text", "make_folder"]

#: Suffix of the temporary files (``.<name>.<random>.tmp``) a write in progress uses.
TEMP_SUFFIX = ".tmp"


def _umask() -> int:
    """The process umask (read without changing it where /proc allows)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, never a
    part: write a temporary file in the same folder, flush it, then `os.replace`.

    The file gets the usual permissions (``0666`` less the umask), not ``mkstemp``'s 0600.
    A write that fails (no such folder, no space left, no permission) raises `RunError`.
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        if hasattr(os, "fchmod"):
            os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise _cannot_write(path, exc) from exc
        raise


def make_folder(path: str | Path, option: str = "--out") -> Path:
    """Create the output folder ``path`` (and its parents); a folder that cannot be made is
    the user's input, so a one-line `ConfigError` naming ``option``."""
    folder = Path(path)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{option} {folder}: cannot create the folder ({exc.strerror}); "
                          "check the path and its permissions") from None
    return folder


def _cannot_write(path: Path, exc: OSError) -> RunError:
    return RunError(f"{path}: cannot write ({exc.strerror or exc}); check the free space and "
                    "the folder's permissions")


def atomic_write_text(path: str | Path, text: str) -> None:
    """`atomic_write_bytes` for UTF-8 text."""
    atomic_write_bytes(path, text.encode("utf-8"))
