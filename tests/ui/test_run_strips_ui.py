"""Run strips in the real app, on a real cluster: each job's recent runs as marks in the jobs
table (dropped first on a narrow terminal) and longer in the detail view, one glyph per
outcome so that NO_COLOR reads the same."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest

from tests.conftest import Cluster
from tests.ui.conftest import running_app, select_job, wait_for
from tests.ui.screen_text import screen
from tui.insight.strips import GLYPHS
from tui.ui.app import CronJobsApp

HOURLY = "0 * * * *"  # paused: it never runs, yet its runs have a time to be late for
# Oldest first, one an hour: five on time give the lag rule its usual, one starts ten
# minutes behind its hour (late), a 'running' row whose backend is gone (orphaned), and one
# whose backend is alive (running).
HISTORY = ["succeeded"] * 5 + ["failed", "succeeded", "late", "failed", "orphan", "running"]
EXPECTED = "▪▪▪▪▪✗▪▴✗?▸"


@contextmanager
def job_with_history(cluster: Cluster, make_job: Callable[..., tuple[int, str]]
                     ) -> Iterator[tuple[int, str]]:
    jobid, name = make_job("select 1", HOURLY)
    cluster.sql("select cron.alter_job(%s, active := false)", [jobid])
    with cluster.connect() as alive:  # a backend that lives as long as the test
        live = alive.execute("select pg_backend_pid()").fetchone()[0]  # type: ignore[index]
        gone = cluster.value("select pg_backend_pid()")  # its session has ended
        top = cluster.value("select date_trunc('hour', now())")
        for i, kind in enumerate(HISTORY):
            start = top - timedelta(hours=len(HISTORY) - i,
                                    seconds=-(600 if kind == "late" else 1))
            status = {"late": "succeeded", "orphan": "running"}.get(kind, kind)
            end = None if status == "running" else start + timedelta(seconds=2)
            pid = {"running": live, "orphan": gone}.get(kind, 1)
            cluster.sql(
                "insert into cron.job_run_details (jobid, runid, job_pid, database, username,"
                " command, status, return_message, start_time, end_time) values (%s,"
                " nextval('cron.runid_seq'), %s, current_database(), current_user,"
                " 'select 1', %s, '', %s, %s)", [jobid, pid, status, start, end])
        try:
            yield jobid, name
        finally:  # the shared cluster keeps no orphan-shaped row for other tests' doctors
            cluster.sql("delete from cron.job_run_details where jobid = %s", [jobid])


def recent(app: CronJobsApp, jobid: int) -> str:
    return str(app.main.jobs_table.get_cell(str(jobid), "recent"))


async def test_the_jobs_table_shows_each_jobs_recent_runs(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    with job_with_history(cluster, make_job) as (jobid, name):
        async with running_app(cluster) as (app, pilot):
            table = app.main.jobs_table
            assert "Recent" in [c.label for c in table.columns]
            # The once-a-minute read comes a couple of seconds after the first screen.
            await wait_for(pilot, lambda: recent(app, jobid).strip() == EXPECTED)
            assert recent(app, jobid) == " " + EXPECTED  # newest at the right
            await select_job(app, pilot, name)
            assert EXPECTED in screen(app)
            # At 80 columns it gives way first: the last run stays.
            await pilot.resize_terminal(80, 24)
            await wait_for(pilot, lambda: "recent" not in [c.key for c in table.columns])
            await pilot.pause()
            text = screen(app)
            assert EXPECTED not in text and "Recent" not in text
            assert "running" in text


async def test_the_detail_view_shows_a_longer_strip_and_its_durations(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    with job_with_history(cluster, make_job) as (jobid, name):
        async with running_app(cluster) as (app, pilot):
            await wait_for(pilot, lambda: recent(app, jobid).strip() == EXPECTED)
            await select_job(app, pilot, name)
            await pilot.press("enter")
            await wait_for(pilot, lambda: EXPECTED in screen(app))
            text = screen(app)
            assert "newest at the right" in text
            assert "scale 0 to 2 s" in text  # every finished run took 2 s: full bars


async def test_without_colour_each_outcome_keeps_its_glyph(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    with job_with_history(cluster, make_job) as (jobid, name):
        async with running_app(cluster) as (app, pilot):
            assert app.no_color
            await wait_for(pilot, lambda: recent(app, jobid).strip() == EXPECTED)
            await select_job(app, pilot, name)
            line = next(line for line in screen(app).splitlines()
                        if line.startswith(f" {name} "))  # its row
            assert EXPECTED in line
            assert set(EXPECTED) == set(GLYPHS.values())  # all five, told apart by shape
