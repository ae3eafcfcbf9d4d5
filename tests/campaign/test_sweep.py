"""`sweep`: jobs run into their own folders, gathered into campaign.csv and a cross-job
front; failures are recorded, Ctrl-C keeps what finished, --resume skips it."""

from __future__ import annotations

import csv
import json

import pytest
from click.testing import CliRunner

from codesign.campaign import LocalProcesses, Serial, load_campaign, sweep
from codesign.campaign import runner as runner_module
from codesign.cli import main
from codesign.errors import ConfigError


def _csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_a_serial_sweep_writes_every_run_and_the_tables(campaign_file, tmp_path):
    out = tmp_path / "out"
    lines: list[str] = []
    result = sweep(campaign_file(), out, progress=lines.append)
    assert [r["status"] for r in result.rows] == ["done"] * 4
    rows = _csv(out / "campaign.csv")
    assert [r["job"] for r in rows] == ["a-default", "a-small", "b-default", "b-small"]
    for row in rows:
        folder = out / "runs" / row["job"]
        run = json.loads((folder / "run.json").read_text())
        assert run["status"] == "done" and run["config"]["seed"] == 0
        assert float(row["hypervolume"]) == run["hypervolume"]["value"]
        designs = _csv(folder / "pareto.csv")
        assert float(row["best_edp_js"]) == min(float(d["edp_js"]) for d in designs)
        assert row["folder"] == str(folder)
    # the small space holds only 4..8 x 4..8 arrays
    assert {int(d["pe_rows"]) for d in _csv(out / "runs" / "a-small" / "pareto.csv")} <= {4, 8}
    front = _csv(out / "pareto.csv")
    assert {d["workload"] for d in front} == {"a", "b"}
    for workload in ("a", "b"):  # nothing in a workload's front is dominated by another
        group = [[float(d[k]) for k in ("latency_s", "energy_j", "area_mm2")]
                 for d in front if d["workload"] == workload]
        for x in group:
            assert not any(all(y[i] <= x[i] for i in range(3)) and y != x for y in group)
    page = (out / "index.html").read_text()
    assert 'href="runs/a-small/report.html"' not in page or \
        (out / "runs/a-small/report.html").exists()
    assert len(lines) == 4 and lines[-1].startswith("[4/4] b-small: done")
    assert "done 4, running 0, failed 0, left 0" in lines[-1]


def test_a_job_that_raises_is_failed_and_the_campaign_goes_on(campaign_file, tmp_path):
    # 5 evaluations cannot hold one generation and the remap: explore raises ConfigError
    path = campaign_file(budgets={"tiny": {"max_evals": 5}, "ok": {"population": 6,
                                                                  "generations": 2}},
                         budget=None)
    result = sweep(path, tmp_path / "out")
    status = {r["job"]: r["status"] for r in result.rows}
    assert status["a-default-tiny"] == "failed" and status["a-default-ok"] == "done"
    failed = next(r for r in result.rows if r["job"] == "a-default-tiny")
    assert failed["error"].startswith("ConfigError: ") and "\n" not in failed["error"]
    assert result.count("done") == 4 and result.count("failed") == 4


def test_existing_campaign_needs_resume_or_force(campaign_file, tmp_path):
    path = campaign_file()
    sweep(path, tmp_path / "out")
    with pytest.raises(ConfigError, match="--resume to go on or --force"):
        sweep(path, tmp_path / "out")
    changed = campaign_file(seeds=(5,))
    with pytest.raises(ConfigError, match="differ from the ones"):
        sweep(changed, tmp_path / "out", resume=True)


def test_ctrl_c_keeps_what_finished_and_resume_skips_it(campaign_file, tmp_path,
                                                        monkeypatch):
    path, out = campaign_file(), tmp_path / "out"
    calls: list[str] = []
    real = runner_module.run_job

    def stop_at_the_third(job, folder):
        calls.append(job["name"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(job, folder)

    monkeypatch.setattr("codesign.campaign.executors.run_job", stop_at_the_third)
    result = sweep(path, out)
    assert result.interrupted and result.count("done") == 2
    assert [r["status"] for r in _csv(out / "campaign.csv")] == ["done", "done", "pending",
                                                                "pending"]
    first = (out / "runs" / "a-default" / "run.json").read_text()
    calls.clear()
    monkeypatch.setattr("codesign.campaign.executors.run_job", real)
    resumed = sweep(path, out, resume=True)
    assert [r["status"] for r in resumed.rows] == ["done"] * 4
    assert (out / "runs" / "a-default" / "run.json").read_text() == first  # not run again


def test_a_stopped_job_resumes_from_its_checkpoint(campaign_file, tmp_path):
    path, out = campaign_file(budget={"population": 6, "generations": 4,
                                      "mapper_candidates": 4, "mapper_steps": 1}), \
        tmp_path / "out"
    job = load_campaign(path).jobs[0]
    folder = out / "runs" / job.name
    # a first attempt that stopped after 2 of 4 generations (as a killed worker leaves it)
    from codesign.api import explore

    explore(job.workload_path, objectives=job.objectives, population=6, generations=2,
            mapper_candidates=4, mapper_steps=1, device="cpu", out=folder, plot=False)
    run = json.loads((folder / "run.json").read_text())
    run["status"] = "running"
    (folder / "run.json").write_text(json.dumps(run))
    row = runner_module.run_job(job.to_dict(), str(folder))
    assert row["status"] == "done" and row["resumed"] is True


def test_the_cli_prints_a_line_per_job_and_exits_1_when_one_failed(campaign_file, tmp_path):
    result = CliRunner().invoke(main, ["sweep", str(campaign_file()), "--out",
                                       str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "4 of 4 jobs done, 0 failed" in result.output
    assert result.output.count(": done in ") == 4


@pytest.mark.slow
def test_local_processes_give_the_serial_results(campaign_file, tmp_path):
    path = campaign_file()
    sweep(path, tmp_path / "serial", executor=Serial())
    sweep(path, tmp_path / "procs", executor=LocalProcesses(2))
    for job in load_campaign(path).jobs:
        a = (tmp_path / "serial" / "runs" / job.name / "pareto.csv").read_text()
        b = (tmp_path / "procs" / "runs" / job.name / "pareto.csv").read_text()
        assert a == b, job.name
