"""`sweep`: run every job of a campaign, each as its own explore run folder, and gather
them: ``campaign.csv`` (one row per job: settings, status, wall time, hypervolume, best
per objective, folder), ``pareto.csv`` (the designs no other job's design beats, per
workload), ``index.html`` (a page linking every run's report) and ``campaign.json`` (the
jobs, so that ``--resume`` knows them).

Folder layout::

    OUT/campaign.json  campaign.csv  pareto.csv  index.html
    OUT/runs/<job>/    an ordinary explore run folder (pareto.csv, run.json, ...)

campaign.csv is rewritten (atomically) after every finished job, so a crash loses no
finished job; ``resume`` skips finished jobs and resumes interrupted ones from their
checkpoints.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from codesign.atomic import atomic_write_text
from codesign.campaign.executors import Serial
from codesign.campaign.runner import JOB_COLUMNS, folder_row, is_done, read_pareto
from codesign.campaign.spec import Campaign, load_campaign
from codesign.errors import ConfigError
from codesign.names import DEFAULT_OBJECTIVES

__all__ = ["CAMPAIGN_FILES", "SweepResult", "sweep"]

#: Files a sweep writes at the top of its folder.
CAMPAIGN_FILES: tuple[str, ...] = ("campaign.json", "campaign.csv", "pareto.csv", "index.html")
_SETTINGS = ("job", "workload", "space", "objectives", "strategy", "algorithm", "budget",
             "seed")
#: campaign.csv's columns.
CAMPAIGN_COLUMNS: tuple[str, ...] = (*_SETTINGS, *JOB_COLUMNS)
#: The objectives pareto.csv's cross-job front is taken over.
FRONT_OBJECTIVES: tuple[str, ...] = DEFAULT_OBJECTIVES


@dataclass
class SweepResult:
    """The campaign's rows (campaign.csv, in job order) and what the run did."""

    rows: list[dict[str, Any]]
    folder: Path
    interrupted: bool = False

    def count(self, status: str) -> int:
        return sum(r["status"] == status for r in self.rows)


def _saved_jobs(out: Path) -> list[dict[str, Any]] | None:
    try:
        return json.loads((out / "campaign.json").read_text())["jobs"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _check_out(out: Path, campaign: Campaign, resume: bool, force: bool) -> None:
    saved = _saved_jobs(out)
    if saved is None:
        if resume and not (out / "campaign.json").exists():
            raise ConfigError(f"--resume {out}: holds no campaign (campaign.json)")
        if resume:
            raise ConfigError(f"--resume {out}: campaign.json is damaged; start again with "
                              "--force")
        return
    if resume:
        if saved != [j.to_dict() for j in campaign.jobs]:
            raise ConfigError(f"--resume {out}: the campaign file's jobs differ from the ones "
                              "this folder was started with; use another --out or --force")
    elif not force:
        raise ConfigError(f"--out {out}: already holds a campaign; pass --resume to go on "
                          "or --force to start it again")


def _write_csv(path: Path, rows: list[dict[str, Any]], columns) -> None:
    from codesign.results.export import generate_csv

    atomic_write_text(path, generate_csv(rows, columns))


def cross_front(rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """The designs of every finished job that no design of another job *for the same
    workload* dominates on `FRONT_OBJECTIVES`, with the job's settings in front; and the
    columns (settings, then each job's pareto.csv columns as they come)."""
    from codesign.names import OBJECTIVE_COLUMNS
    from codesign.search.archive import non_dominated_mask

    keys = [OBJECTIVE_COLUMNS[o] for o in FRONT_OBJECTIVES]
    designs: list[dict[str, Any]] = []
    columns: list[str] = list(_SETTINGS)
    for row in rows:
        if row["status"] != "done":
            continue
        for design in read_pareto(row["folder"]):
            for column in design:
                if column not in columns:
                    columns.append(column)
            designs.append({**{k: row[k] for k in _SETTINGS}, **design})
    front: list[dict[str, Any]] = []
    for workload in dict.fromkeys(d["workload"] for d in designs):
        group = [d for d in designs if d["workload"] == workload]
        values = np.array([[float(d[k]) for k in keys] for d in group])
        mask = non_dominated_mask(values)
        front.extend(d for d, keep in zip(group, mask, strict=True) if keep)
    return front, columns


def _index_html(rows: list[dict[str, Any]], out: Path) -> str:
    """A plain, offline page: one table row per job, linking its report."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in CAMPAIGN_COLUMNS if c != "folder")
    body = []
    for row in rows:
        folder = Path(row["folder"])
        link = folder.relative_to(out) if folder.is_relative_to(out) else folder
        cells = []
        for column in CAMPAIGN_COLUMNS:
            if column == "folder":
                continue
            value = row.get(column)
            text = html.escape("" if value is None else
                               f"{value:.4g}" if isinstance(value, float) else str(value))
            if column == "job" and (folder / "report.html").exists():
                text = f'<a href="{html.escape(str(link))}/report.html">{text}</a>'
            cells.append(f"<td>{text}</td>")
        body.append(f"<tr class=\"{html.escape(str(row['status']))}\">{''.join(cells)}</tr>")
    return ("<!doctype html><html><head><meta charset=\"utf-8\"><title>codesign campaign"
            "</title><style>body{font:14px sans-serif;margin:2em}table{border-collapse:"
            "collapse}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
            "tr.failed{background:#fdd}tr.interrupted,tr.pending{background:#ffd}</style>"
            f"</head><body><h1>Campaign: {len(rows)} jobs</h1><p>Cross-job front: "
            "<a href=\"pareto.csv\">pareto.csv</a>; all jobs: <a href=\"campaign.csv\">"
            f"campaign.csv</a></p><table><tr>{head}</tr>{''.join(body)}</table>"
            "</body></html>\n")


class _Tally:
    """The live count a long sweep prints: done / running / failed / left, elapsed, and
    the time left estimated from the mean wall time of the jobs run so far."""

    def __init__(self, n_jobs: int, workers: int, say: Callable[[str], None] | None) -> None:
        self.n, self.workers, self.say = n_jobs, workers, say
        self.start = time.monotonic()
        self.done = self.failed = self.ran = 0

    def finished(self, row: dict[str, Any], counted: bool = True) -> None:
        if row["status"] == "done":
            self.done += 1
        else:
            self.failed += row["status"] == "failed"
        self.ran += counted
        if self.say is None:
            return
        left = self.n - self.done - self.failed
        elapsed = time.monotonic() - self.start
        running = min(self.workers, left)
        eta = (f", about {elapsed / self.ran * left / self.workers:.0f} s left"
               if self.ran and left else "")
        status = row["status"] + (f" ({row['error']})" if row.get("error") else "")
        took = (f" in {row['wall_s']:.1f} s" if row.get("wall_s") is not None else "")
        if not counted:  # finished by an earlier sweep: --resume skips it
            status, took = "already done", ""
        self.say(f"[{self.done + self.failed}/{self.n}] {row['job']}: {status}{took}"
                 + (" (resumed)" if row.get("resumed") else "")
                 + f" | done {self.done}, running {running}, failed {self.failed}, "
                   f"left {left}, {elapsed:.0f} s{eta}")


def sweep(campaign: str | Path | Campaign, out: str | Path, *, executor: Any = None,
          resume: bool = False, force: bool = False,
          progress: Callable[[str], None] | None = None) -> SweepResult:
    """Run the campaign's jobs into ``out`` with ``executor`` (default `Serial`); see the
    module docstring for the files. A job that raises is recorded as failed and the
    campaign goes on; Ctrl-C stops it after writing what finished (``interrupted``)."""
    from codesign.results.lock import lock_folder

    if not isinstance(campaign, Campaign):
        campaign = load_campaign(campaign)
    executor = executor or Serial()
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out}: exists and is not a folder")
    _check_out(out, campaign, resume, force)
    with lock_folder(out, "--out"):
        runs = out / "runs"
        runs.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / "campaign.json", json.dumps(campaign.to_dict(), indent=2))
        rows: list[dict[str, Any]] = []
        tasks = []
        tally = _Tally(len(campaign.jobs), getattr(executor, "workers", None) or 1, progress)
        for key, job in enumerate(campaign.jobs):
            folder = runs / job.name
            row = {**job.settings(), **{c: None for c in JOB_COLUMNS}, "status": "pending",
                   "folder": str(folder)}
            if resume and is_done(folder):
                row.update(folder_row(folder), resumed=False)
                tally.finished(row, counted=False)
            else:
                tasks.append((key, job.to_dict(), str(folder)))
            rows.append(row)

        def write() -> None:
            _write_csv(out / "campaign.csv", rows, CAMPAIGN_COLUMNS)
            front, columns = cross_front(rows)
            _write_csv(out / "pareto.csv", front, columns)
            atomic_write_text(out / "index.html", _index_html(rows, out))

        write()
        interrupted = False
        try:
            for key, result in executor.run(tasks):
                rows[key].update(result)
                write()
                tally.finished(rows[key])
                interrupted = interrupted or result.get("status") == "interrupted"
                if interrupted and isinstance(executor, Serial):
                    break  # Ctrl-C inside a job: it wrote its front; stop here
        except KeyboardInterrupt:
            interrupted = True
        for row in rows:  # a stopped job's folder says how far it got
            if row["status"] == "pending" and Path(row["folder"], "run.json").exists():
                row.update(folder_row(row["folder"]))
        write()
    return SweepResult(rows=rows, folder=out, interrupted=interrupted)
