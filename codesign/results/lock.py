"""One run per output folder: an exclusive lock file held for the whole run.

Two ``codesign explore`` runs writing the same ``--out`` would interleave checkpoints and
result files from different searches. `lock_folder` holds a `filelock.FileLock` on
``<folder>/.codesign.lock`` (an OS lock: ``flock`` on POSIX, ``msvcrt.locking`` on Windows,
released by the OS however the process ends, so a killed run never leaves a stale lock) and
writes the holder's pid into ``<folder>/.codesign.pid`` for the error message (not into the
lock file: filelock before 4.0 truncates the lock file on every attempt to take it). A folder
the lock had to create is removed again if the run wrote nothing into it; the temporary files
of writes a killed run never finished are removed once the lock is held.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from pathlib import Path

import filelock

from codesign.atomic import TEMP_SUFFIX, atomic_write_text
from codesign.errors import ConfigError, RunError

__all__ = ["LOCK_NAME", "PID_NAME", "lock_folder"]

LOCK_NAME = ".codesign.lock"
#: Holds the running holder's pid while it holds the lock (a killed holder's stays behind and
#: is overwritten by the next holder; it is only read when the lock is taken).
PID_NAME = ".codesign.pid"


def _holder(folder: Path) -> str:
    try:
        pid = (folder / PID_NAME).read_text().strip()
    except OSError:
        return "unknown pid"
    return f"pid {pid}" if pid.isdigit() else "unknown pid"


@contextlib.contextmanager
def lock_folder(folder: str | Path, option: str = "--out") -> Iterator[Path]:
    """Hold an exclusive lock on ``folder`` (created if missing) for the block.

    Raises `RunError` at once, without waiting, when another process (or another
    `lock_folder` in this one) holds it ("in use by another codesign run (pid N)"), and
    `ConfigError` when ``folder`` exists but is not a folder or it or its lock file cannot
    be created; ``option`` names the command-line option in messages. On a file system
    without OS locks filelock before 4.0 cannot lock; the run then goes ahead unlocked
    (filelock 4 falls back to its own pid-marker lock there).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"{option} {folder}: exists and is not a folder; pick another path")
    created = not folder.exists()
    # timeout=0: one attempt, then filelock.Timeout; thread_local=False: the lock belongs to
    # the process, as a run does
    lock = filelock.FileLock(folder / LOCK_NAME, timeout=0, thread_local=False)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except filelock.Timeout:  # a TimeoutError, so an OSError: caught first
        raise RunError(f"{folder} is in use by another codesign run ({_holder(folder)}); "
                       f"wait for it to finish or pick another {option}") from None
    except NotImplementedError:  # pragma: no cover - filelock < 4 on a file system without flock
        lock = None
    except OSError as exc:
        raise ConfigError(f"{option} {folder}: cannot create the folder or its lock file "
                          f"({exc.strerror}); check the path and its permissions") from None
    try:
        if lock is not None:
            with contextlib.suppress(RunError):  # only for the message: "unknown pid" if not
                atomic_write_text(folder / PID_NAME, f"{os.getpid()}\n")
        _remove_stale_temporaries(folder)
        yield folder
    finally:
        if lock is not None:
            with contextlib.suppress(OSError):
                (folder / PID_NAME).unlink(missing_ok=True)
            lock.release()
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
        # filelock leaves the lock file in place on POSIX and removes it on Windows
        if {p.name for p in folder.iterdir()} <= {LOCK_NAME}:
            (folder / LOCK_NAME).unlink(missing_ok=True)
            folder.rmdir()
    except OSError:
        pass
