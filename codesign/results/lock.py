"""One run per output folder: an exclusive lock file held for the whole run.

Two ``codesign explore`` runs writing the same ``--out`` would interleave checkpoints and
result files from different searches. `lock_folder` takes an advisory ``flock`` on
``<folder>/.codesign.lock`` (released by the kernel however the process ends, so a killed
run never leaves a stale lock) and writes the holder's pid into it for the error message.
A folder the lock had to create is removed again if the run wrote nothing into it; the
temporary files of writes a killed run never finished are removed once the lock is held. Where
``fcntl`` does not exist (Windows) the lock is a no-op.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

from codesign.atomic import TEMP_SUFFIX
from codesign.errors import ConfigError, RunError

__all__ = ["LOCK_NAME", "lock_folder"]

LOCK_NAME = ".codesign.lock"


def _holder(path: Path) -> str:
    try:
        pid = path.read_text().strip()
    except OSError:
        return "unknown pid"
    return f"pid {pid}" if pid.isdigit() else "unknown pid"


@contextlib.contextmanager
def lock_folder(folder: str | Path, option: str = "--out") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if missing) for the block.

    Raises `RunError` when another process holds it ("in use by another codesign run (pid
    N)") and `ConfigError` when ``folder`` exists but is not a folder or cannot be created;
    ``option`` names the command-line option in messages.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} {folder}: exists and is not a folder; pick another path")
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        folder.mkdir(parents=True, exist_ok=True)
        yield folder
        return
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise ConfigError(f"{option} {folder}: cannot create the folder or its lock file "
                          f"({exc.strerror}); check the path and its permissions") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RunError(f"{folder} is in use by another codesign run ({_holder(path)}); "
                           f"wait for it to finish or pick another {option}") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _remove_stale_temporaries(folder)
        yield folder
    finally:
        os.close(fd)  # closing the descriptor releases the flock
        if created:
            _remove_if_only_lock(folder)


#: `codesign.atomic`'s temporary files: ``.<name>.<8 random chars>.tmp``.
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}" + re.escape(TEMP_SUFFIX) + "$")


def _remove_stale_temporaries(folder: Path) -> None:
    """Temporary files of writes that a killed process (SIGKILL, power cut) never finished:
    with the lock held no other codesign process writes here, so they are stale."""
    for path in folder.iterdir():
        if _TEMPORARY.match(path.name) and path.is_file():
            path.unlink(missing_ok=True)


def _remove_if_only_lock(folder: Path) -> None:
    """A folder this lock created for a run that wrote nothing (it failed before its first
    file) is removed again, so that an error leaves nothing behind."""
    try:
        if [p.name for p in folder.iterdir()] == [LOCK_NAME]:
            (folder / LOCK_NAME).unlink()
            folder.rmdir()
    except OSError:
        pass
