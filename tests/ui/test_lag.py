"""Start lag and duration against each job's usual: flags in the run stream and the jobs
table, the detail view's median/p95, `runs --json`'s lag_s.

The runs are real rows in cron.job_run_details of the session's cluster (runid from
cron.runid_seq), laid out on the jobs' ten-minute slots a few hours back. The jobs are paused
so that pg_cron adds no run of its own while the test looks.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import Cluster
from tests.ui.conftest import running_app, select_job, wait_for
from tui.cli import main
from tui.insight.lag import MARK, Usual
from tui.rules import outlier

EVERY_10 = "*/10 * * * *"


def insert_run(c: Cluster, jobid: int, start: datetime, took: float, message: str) -> int:
    return c.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) "
        "select jobid, nextval('cron.runid_seq'), 31337, database, username, command, "
        "'succeeded', %s, %s, %s from cron.job where jobid = %s returning runid",
        [message, start, start + timedelta(seconds=took), jobid])


@pytest.fixture
def history(cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    base = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)

    def slot(k: int) -> datetime:
        return base + timedelta(minutes=10 * k)

    out: dict[str, Any] = {}
    for key, command in (
            ("long", "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.daily_revenue"),
            ("late", "DELETE FROM app.sessions WHERE expires_at < now() - interval '1 day'"),
            ("few", "SELECT payouts.sync_stripe(p_limit => 500)"),
            ("manual", "VACUUM (ANALYZE) public.events")):
        jobid, name = make_job(command, EVERY_10)
        cluster.sql("update cron.job set active = false where jobid = %s", [jobid])
        out[key] = (jobid, name)
    runs: dict[str, list[int]] = {"long": [], "late": [], "few": [], "manual": []}
    jobid = out["long"][0]
    for k in range(8):
        runs["long"].append(insert_run(cluster, jobid, slot(k) + timedelta(seconds=0.4), 2,
                                       "REFRESH MATERIALIZED VIEW"))
    # Twelve minutes where it usually takes two seconds.
    runs["long"].append(insert_run(cluster, jobid, slot(8) + timedelta(seconds=0.4), 720,
                                   "REFRESH MATERIALIZED VIEW"))
    jobid = out["late"][0]
    for k in range(8):
        runs["late"].append(insert_run(cluster, jobid, slot(k) + timedelta(seconds=0.3), 0.5,
                                       "DELETE 120"))
    # Started seven minutes after its time (queued), took as long as ever.
    runs["late"].append(insert_run(cluster, jobid, slot(8) + timedelta(minutes=7, seconds=0.3),
                                   0.5, "DELETE 97"))
    jobid = out["few"][0]
    for k in range(4):
        runs["few"].append(insert_run(cluster, jobid, slot(k) + timedelta(seconds=0.2), 1,
                                      "1 row"))
    # As far outside as the first job's, but only four runs to compare with: not flagged.
    runs["few"].append(insert_run(cluster, jobid, slot(4) + timedelta(seconds=0.2), 1200,
                                  "1 row"))
    jobid = out["manual"][0]
    for k in range(6):
        runs["manual"].append(insert_run(cluster, jobid, slot(k) + timedelta(seconds=0.2), 1,
                                         "VACUUM"))
    # Started from the app ("t") four and a half minutes after a scheduled time: no lag.
    runs["manual"].append(insert_run(cluster, jobid, slot(6) + timedelta(minutes=4.5), 1,
                                     "manual run by alice: VACUUM"))
    out["runs"] = runs
    return out


async def test_stream_jobs_table_and_detail_flag_runs_far_outside(
        cluster: Cluster, history: dict[str, Any]) -> None:
    from textual.widgets import Static

    from tui.ui.screens.detail import JobDetailScreen

    async with running_app(cluster, size=(180, 50)) as (app, pilot):
        runs_table, jobs_table = app.main.runs_table, app.main.jobs_table
        long_run, late_run = history["runs"]["long"][-1], history["runs"]["late"][-1]

        def took(table: Any, key: int) -> str:
            return table.get_cell(str(key), "took").plain

        await wait_for(pilot, lambda: app.usual is not None
                       and str(long_run) in runs_table.rows
                       and MARK in took(runs_table, long_run))
        assert took(runs_table, long_run) == f"12 min {MARK} (usual 2.00 s)"
        assert took(runs_table, late_run) == f"0.50 s {MARK} late 7 min (usual 0.30 s)"
        for key in ("long", "late", "few"):
            for runid in history["runs"][key][:-1]:
                assert MARK not in took(runs_table, runid), (key, took(runs_table, runid))
        for key in ("few", "manual"):
            assert MARK not in took(runs_table, history["runs"][key][-1])

        long_job, late_job, few_job = (history[k][0] for k in ("long", "late", "few"))
        await wait_for(pilot, lambda: str(long_job) in jobs_table.rows
                       and MARK in took(jobs_table, long_job))
        assert took(jobs_table, long_job) == f"12 min {MARK} (usual 2.00 s)"
        assert took(jobs_table, late_job) == f"0.50 s {MARK} late 7 min (usual 0.30 s)"
        assert MARK not in took(jobs_table, few_job)
        assert MARK not in took(jobs_table, history["manual"][0])

        await select_job(app, pilot, history["long"][1])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        stats = app.screen.query_one("#stats", Static)
        await wait_for(pilot, lambda: "start lag" in str(stats.render()))
        text = str(stats.render())
        assert "duration median 2.00 s, p95 " in text, text
        assert "start lag median 0.40 s, p95 0.40 s" in text, text


def test_runs_json_has_lag_s(cluster: Cluster, history: dict[str, Any]) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["runs", "--job", history["late"][1], "-d", cluster.conninfo,
                     "--json"]) == 0
    rows = {r["runid"]: r for r in json.loads(out.getvalue())}
    runids = history["runs"]["late"]
    assert rows[runids[-1]]["lag_s"] == pytest.approx(420.3)
    assert [rows[r]["lag_s"] for r in runids[:-1]] == [pytest.approx(0.3)] * 8
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["runs", "--job", history["manual"][1], "-d", cluster.conninfo,
                     "--json"]) == 0
    rows = {r["runid"]: r for r in json.loads(out.getvalue())}
    runids = history["runs"]["manual"]
    assert rows[runids[-1]]["lag_s"] is None
    assert [rows[r]["lag_s"] for r in runids[:-1]] == [pytest.approx(0.2)] * 6


def test_flag_rule_needs_five_other_runs_and_a_floor() -> None:
    runs = {k: (2.0, 0.4) for k in range(5)}
    assert outlier(Usual(runs), 0, 720.0, runid=99) == 2.0
    # The run judged is not among the runs it is compared with.
    assert outlier(Usual({**runs, 99: (720.0, 0.4)}), 0, 720.0, runid=99) == 2.0
    assert outlier(Usual({k: v for k, v in runs.items() if k}), 0, 720.0, runid=99) is None
    # 3x the usual but under the floor: a 20 ms job taking 9 s is not flagged.
    fast = {k: (0.02, 0.4) for k in range(5)}
    assert outlier(Usual(fast), 0, 9.0, runid=99) is None
    assert outlier(Usual(fast), 0, 11.0, runid=99) == pytest.approx(0.02)
    assert outlier(Usual(runs), 1, 29.0, runid=99) is None
    assert outlier(Usual(runs), 1, 31.0, runid=99) == pytest.approx(0.4)


def test_lags_kept_from_the_last_read_match_lags_worked_out_afresh() -> None:
    """Read once a minute, the newest runs are mostly those of the read before: their lags
    are taken from it, and the result is the one a read from nothing gives, also for a job
    rescheduled meanwhile and for a zone that changed."""
    from dataclasses import replace

    from tests.test_schedules import job
    from tui.insight.lag import build

    jobs = [job(1, "*/5 * * * *"), job(2, "0 3 * * *"), job(3, "30 seconds"),
            job(4, "15 9-17 * * 1-5"), job(5, "@reboot")]
    base = datetime(2026, 11, 23, 0, 0, tzinfo=timezone.utc)

    def rows(first: int, last: int) -> list[dict[str, Any]]:
        out = []
        for runid in range(first, last):
            jobid = 1 + runid % len(jobs)
            # On its minute mostly; now and then queued for a while or started oddly.
            start = base + timedelta(minutes=5 * runid, seconds=(runid * 37) % 200)
            out.append({"jobid": jobid, "runid": runid, "start_time": start,
                        "end_time": start + timedelta(seconds=runid % 9)})
        return out

    def lags(usual: Any) -> dict[int, dict[int, tuple[float, float | None]]]:
        return {jobid: u.runs for jobid, u in usual.by_job.items()}

    before = build(rows(0, 400), jobs, "Europe/Berlin", "1.6")
    later = rows(60, 460)  # the oldest went, new ones came
    assert lags(build(later, jobs, "Europe/Berlin", "1.6", before)) == \
        lags(build(later, jobs, "Europe/Berlin", "1.6"))
    moved = [replace(jobs[0], schedule="2-59/5 * * * *"), *jobs[1:]]
    assert lags(build(later, moved, "Europe/Berlin", "1.6", before)) == \
        lags(build(later, moved, "Europe/Berlin", "1.6"))
    assert lags(build(later, jobs, "America/New_York", "1.6", before)) == \
        lags(build(later, jobs, "America/New_York", "1.6"))
