"""One campaign job, run where an executor puts it: in this process, a local worker
process or a Ray task. It is an ordinary explore run with its own folder (atomic files,
checkpoints), started fresh or resumed from its checkpoint, and it answers with one
campaign.csv row. Everything it takes and returns is plain data, so it pickles."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path
from typing import Any

__all__ = ["JOB_COLUMNS", "STATUSES", "folder_row", "is_done", "read_pareto", "run_job"]

#: What campaign.csv says of a job.
STATUSES: tuple[str, ...] = ("done", "failed", "interrupted", "pending")
#: campaign.csv columns after a job's settings (`Job.settings`).
JOB_COLUMNS: tuple[str, ...] = (
    "status", "wall_s", "evaluations", "n_pareto", "hypervolume", "best_latency_s",
    "best_energy_j", "best_area_mm2", "best_edp_js", "best_power_w", "resumed", "error",
    "folder")


def _run_record(folder: Path) -> dict[str, Any] | None:
    try:
        return json.loads((folder / "run.json").read_text())
    except (OSError, ValueError):
        return None


def read_pareto(folder: str | Path) -> list[dict[str, str]]:
    """A run folder's pareto.csv rows (none if it has not written one)."""
    try:
        with open(Path(folder) / "pareto.csv", newline="") as f:
            return list(csv.DictReader(f))
    except OSError:
        return []


def _best(folder: Path) -> dict[str, float | None]:
    from codesign.names import OBJECTIVE_COLUMNS

    best: dict[str, float | None] = {f"best_{c}": None for c in OBJECTIVE_COLUMNS.values()}
    rows = read_pareto(folder)
    for column in OBJECTIVE_COLUMNS.values():
        values = [float(r[column]) for r in rows if r.get(column) not in (None, "")]
        best[f"best_{column}"] = min(values) if values else None
    return best


def folder_row(folder: str | Path) -> dict[str, Any]:
    """A job's campaign.csv figures from its run folder (a finished or a stopped run)."""
    folder = Path(folder)
    run = _run_record(folder) or {}
    status = run.get("status")
    hv = run.get("hypervolume") or {}
    # a run.json still "running" belongs to a run that was stopped without a word (killed)
    status = {"running": "interrupted"}.get(status, status)
    return {"status": status if status in STATUSES else "pending",
            "wall_s": run.get("wall_s"), "evaluations": run.get("evaluations"),
            "n_pareto": run.get("n_pareto"), "hypervolume": hv.get("value"),
            **_best(folder), "error": run.get("error"), "folder": str(folder)}


def is_done(folder: str | Path) -> bool:
    """Whether the job in ``folder`` finished (its results are written)."""
    run = _run_record(Path(folder))
    return bool(run) and run.get("status") == "done" and (Path(folder) / "pareto.csv").exists()


def _resumable(folder: Path) -> bool:
    return (folder / "checkpoint.npz").exists() and _run_record(folder) is not None


def run_job(job: dict[str, Any], folder: str) -> dict[str, Any]:
    """Run one job (`Job.to_dict`) into ``folder``; resume it from its checkpoint if an
    earlier attempt left one. A job that raises comes back as ``failed`` with its
    one-line error; Ctrl-C propagates (the run folder holds what was found)."""
    from codesign.api import explore
    from codesign.arch.space import DesignSpace

    path = Path(folder)
    started = time.monotonic()
    resumed = _resumable(path)
    try:
        if resumed:
            result = explore(resume=path, device=job["device"], plot=False)
        else:
            space = DesignSpace.from_yaml(job["space_path"]) if job["space_path"] else None
            result = explore(
                job["workload_path"], space, objectives=job["objectives"],
                strategy=job["strategy"], algorithm=job["algorithm"], seed=job["seed"],
                device=job["device"], out=path, force=True, plot=False,
                refine=job.get("refine"),
                **job["budget"], **job["constraints"])
        row = folder_row(path)
        row["status"] = "interrupted" if result.interrupted else "done"
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # recorded; the campaign goes on
        row = folder_row(path)
        message = " ".join(str(exc).split()) or type(exc).__name__
        row.update(status="failed", error=f"{type(exc).__name__}: {message}"[:500])
    row["resumed"] = resumed
    if row.get("wall_s") is None:
        row["wall_s"] = round(time.monotonic() - started, 3)
    return row
