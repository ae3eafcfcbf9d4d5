"""Where a campaign's jobs run: here one at a time, in local worker processes, or as Ray
tasks. Each executor takes ``(key, job, folder)`` tasks and yields ``(key, row)`` as jobs
finish, in whatever order they finish; the job's own seed makes its result the same
whichever executor runs it.

A worker that dies mid-job (killed, out of memory) is retried a bounded number of times;
the retried job resumes from the checkpoint the dead attempt left. Ray retries a task
whose worker died (``max_retries``); the local pool cannot tell which job killed it, so it
restarts and resubmits every unfinished job, at most ``retries`` times in all.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from codesign.campaign.runner import run_job
from codesign.errors import ConfigError
from codesign.search.workers import ray_session, require_ray

__all__ = ["DEFAULT_RETRIES", "LocalProcesses", "RayCluster", "Serial", "Task"]

#: How often a job whose worker died is started again.
DEFAULT_RETRIES = 2

Task = tuple[int, dict[str, Any], str]


def _died(job_name: str, why: str) -> dict[str, Any]:
    return {"status": "failed", "error": f"WorkerDied: {why} ({job_name})"}


class Serial:
    """One job at a time in this process (no extra dependency)."""

    name = "serial"
    workers = 1

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        for key, job, folder in tasks:
            yield key, run_job(job, folder)


class LocalProcesses:
    """Up to ``workers`` jobs at once in spawned local processes."""

    name = "processes"

    def __init__(self, workers: int, retries: int = DEFAULT_RETRIES) -> None:
        if workers < 1:
            raise ConfigError(f"--workers {workers}: need at least 1")
        self.workers, self.retries = workers, retries

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        import multiprocessing
        from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
        from concurrent.futures.process import BrokenProcessPool

        left = {key: (job, folder) for key, job, folder in tasks}
        breaks = 0
        context = multiprocessing.get_context("spawn")  # no forked torch state
        while left:
            pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
            try:
                futures = {pool.submit(run_job, job, folder): key
                           for key, (job, folder) in left.items()}
                pending = set(futures)
                broken = False
                while pending and not broken:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        key = futures[future]
                        try:
                            row = future.result()
                        except BrokenProcessPool:
                            broken = True
                            continue
                        left.pop(key)
                        yield key, row
            finally:
                pool.shutdown(wait=True, cancel_futures=True)
            if broken:
                breaks += 1
                if breaks > self.retries:
                    for key, (job, _) in list(left.items()):
                        left.pop(key)
                        yield key, _died(job["name"], f"a worker process died {breaks} "
                                                      "times; no retries left")


class RayCluster:
    """Jobs as Ray tasks: on a local cluster started here (``address`` None, ``workers``
    CPUs) or on an existing one (``address``, e.g. ``ray://head:10001`` or ``auto``), as
    `codesign.search.workers.ray_session` connects."""

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 retries: int = DEFAULT_RETRIES) -> None:
        require_ray()
        self.address, self.workers, self.retries = address, workers, retries

    def run(self, tasks: Sequence[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        with ray_session(self.address, self.workers) as ray:
            yield from self._run(ray, tasks)

    def _run(self, ray: Any, tasks: Sequence[Task]) -> Iterator[tuple[int, dict[str, Any]]]:
        remote = ray.remote(num_cpus=1, max_retries=self.retries,
                            retry_exceptions=False)(run_job)
        refs = {remote.remote(job, folder): (key, job) for key, job, folder in tasks}
        try:
            pending = list(refs)
            while pending:
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    key, job = refs[ref]
                    try:
                        row = ray.get(ref)
                    except (ray.exceptions.WorkerCrashedError,
                            ray.exceptions.NodeDiedError) as exc:
                        row = _died(job["name"], f"{type(exc).__name__} after "
                                                 f"{self.retries} retries")
                    except ray.exceptions.RayError as exc:
                        row = {"status": "failed",
                               "error": f"{type(exc).__name__}: "
                                        f"{' '.join(str(exc).split())[:300]}"}
                    yield key, row
        except KeyboardInterrupt:
            for ref in refs:
                ray.cancel(ref, force=False)
            raise
