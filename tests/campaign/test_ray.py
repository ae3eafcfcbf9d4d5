"""The Ray executor on a local cluster of 2 CPUs: the serial results, and a worker killed
mid-job is retried and the campaign completes. Skipped without the ``ray`` extra."""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import pytest

ray = pytest.importorskip("ray", reason='needs the ray extra: pip install "codesign[ray]"')

from codesign.campaign import RayCluster, Serial, load_campaign, sweep  # noqa: E402

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             configure_logging=False)
    yield
    ray.shutdown()


def test_ray_gives_the_serial_results_for_every_job(cluster, campaign_file, tmp_path):
    path = campaign_file(seeds=(0, 1))  # 2 workloads x 2 spaces x 2 seeds
    lines: list[str] = []
    result = sweep(path, tmp_path / "ray", executor=RayCluster(workers=2),
                   progress=lines.append)
    assert result.count("done") == 8 and len(lines) == 8
    sweep(path, tmp_path / "serial", executor=Serial())
    for job in load_campaign(path).jobs:
        a = (tmp_path / "serial" / "runs" / job.name / "pareto.csv").read_text()
        b = (tmp_path / "ray" / "runs" / job.name / "pareto.csv").read_text()
        assert a == b, job.name


def _kill_first_running_worker(runs, killed: list[int], stop: threading.Event) -> None:
    """Kill (SIGKILL) the worker holding a job folder's lock, once that job has written a
    checkpoint: the pid is in the folder's lock file."""
    while not stop.is_set() and not killed:
        for folder in sorted(runs.glob("*")) if runs.exists() else []:
            try:
                run = json.loads((folder / "run.json").read_text())
                pid = int((folder / ".codesign.lock").read_text().split()[0])
            except (OSError, ValueError, IndexError):
                continue
            if run.get("status") == "running" and (folder / "checkpoint.npz").exists() \
                    and pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.05)


def test_a_killed_worker_is_retried_and_the_campaign_completes(cluster, campaign_file,
                                                                tmp_path):
    path = campaign_file(budget={"population": 8, "generations": 30,
                                 "mapper_candidates": 4, "mapper_steps": 1})
    out = tmp_path / "out"
    killed: list[int] = []
    stop = threading.Event()
    watcher = threading.Thread(target=_kill_first_running_worker,
                               args=(out / "runs", killed, stop), daemon=True)
    watcher.start()
    try:
        result = sweep(path, out, executor=RayCluster(workers=2, retries=2))
    finally:
        stop.set()
        watcher.join()
    assert killed, "no worker was killed: the jobs finished before a checkpoint appeared"
    assert result.count("done") == 4, [(r["job"], r["status"], r["error"]) for r in result.rows]
    assert any(r["resumed"] for r in result.rows)  # the retry went on from the checkpoint


def test_the_cli_runs_on_ray_and_resume_skips_finished_jobs(cluster, campaign_file, tmp_path):
    from click.testing import CliRunner

    from codesign.cli import main

    path, out = campaign_file(), tmp_path / "out"
    first = CliRunner().invoke(main, ["sweep", str(path), "--out", str(out), "--ray",
                                      "--workers", "2"])
    assert first.exit_code == 0, first.output
    assert "ray executor" in first.output and "4 of 4 jobs done" in first.output
    again = CliRunner().invoke(main, ["sweep", str(path), "--out", str(out), "--ray",
                                      "--resume"])
    assert again.exit_code == 0, again.output
    assert ": done in " not in again.output  # nothing ran again
    assert again.output.count(": already done") == 4
    assert "4 of 4 jobs done" in again.output
