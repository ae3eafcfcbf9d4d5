"""`lock_folder`: one holder at a time, a clear message naming the holder, no stale lock."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from codesign.errors import ConfigError, RunError
from codesign.results.lock import LOCK_NAME, PID_NAME, lock_folder


def test_second_holder_is_refused_with_the_pid_then_the_lock_is_free_again(tmp_path):
    run = tmp_path / "run"
    with lock_folder(run):
        assert (run / PID_NAME).read_text() == f"{os.getpid()}\n"
        # the OS lock belongs to an open file: a second open in this process conflicts too
        with pytest.raises(RunError, match=rf"is in use by another codesign run \(pid "
                                           rf"{os.getpid()}\); wait for it to finish or pick "
                                           r"another --out"), lock_folder(run):
            pass
    assert not (run / PID_NAME).exists()
    with lock_folder(run):  # released on exit
        pass


def test_a_path_that_is_a_file_is_a_config_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not a folder"), \
            lock_folder(tmp_path / "file"):
        pass


def test_a_killed_holder_leaves_no_stale_lock(tmp_path):
    """The OS drops the lock when its process dies, even by SIGKILL: the next run takes it at
    once, over the pid file the killed one left behind."""
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import sys, time
            from codesign.results.lock import lock_folder
            with lock_folder({str(tmp_path)!r}):
                print("locked", flush=True)
                time.sleep(60)
        """)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(RunError, match=f"pid {holder.pid}"), lock_folder(tmp_path):
            pass
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert (tmp_path / PID_NAME).read_text() == f"{holder.pid}\n"  # left by the SIGKILL
    with lock_folder(tmp_path):
        assert (tmp_path / PID_NAME).read_text() == f"{os.getpid()}\n"


def test_a_folder_created_for_a_run_that_wrote_nothing_is_removed(tmp_path):
    run = tmp_path / "new"
    with pytest.raises(ValueError), lock_folder(run):
        raise ValueError("the run failed before writing anything")
    assert not run.exists()
    with lock_folder(run):
        (run / "pareto.csv").write_text("x\n")
    assert sorted(p.name for p in run.iterdir()) == [LOCK_NAME, "pareto.csv"]
    existing = tmp_path / "existing"
    existing.mkdir()
    with lock_folder(existing):
        pass
    assert existing.is_dir()  # not ours to remove


@pytest.mark.skipif(os.name != "posix", reason="the POSIX strerror")
def test_a_folder_that_cannot_be_created_is_a_config_error(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match=r"--out .*sub: cannot create the folder or its lock "
                                          r"file \(Not a directory\)"), \
            lock_folder(tmp_path / "file" / "sub"):
        pass


def test_stale_temporary_files_of_a_killed_run_are_removed(tmp_path):
    """SIGKILL during a write leaves `.pareto.csv.k2j4h5g1.tmp`; the next holder removes it
    and nothing else."""
    stale = tmp_path / ".pareto.csv.k2j4h5g1.tmp"
    stale.write_text("half")
    keep = [tmp_path / "notes.tmp", tmp_path / ".hidden.tmp", tmp_path / "pareto.csv"]
    for path in keep:
        path.write_text("mine")
    with lock_folder(tmp_path):
        pass
    assert not stale.exists() and all(p.exists() for p in keep)
