"""`timeline`: crowded minutes against cron.max_running_jobs and jobs that will queue behind
themselves on a real server; DST gaps and repeated hours from the scheduler's zone."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import Cluster, start_cluster
from tests.insight.test_explain import insert_run
from tui.cli import main
from tui.insight.timeline import build, render
from tui.models import Job

NIGHTLY = [("refresh-mv-orders", "15 3 * * *", "REFRESH MATERIALIZED VIEW mv_orders"),
           ("purge-sessions", "15 3 * * *", "DELETE FROM sessions WHERE expires_at < now()"),
           ("rotate-audit-partitions", "15 3 * * *", "CALL audit.rotate_partitions()")]
SLOW = ("sync-crm-contacts", "*/2 * * * *", "SELECT crm.sync_contacts()")


@pytest.fixture(scope="module")
def limited(cluster: Cluster) -> Iterator[Cluster]:
    c = start_cluster(cluster.sandbox.install, **{"cron.max_running_jobs": "2"})
    with c.connect() as conn:
        # Only this test's jobs: the seed's weekly job (Sunday 03:00) would make a second
        # crowded minute whenever the next 24 hours hold a Sunday 03:00.
        conn.execute("select cron.unschedule(jobid) from cron.job")
        for job in [*NIGHTLY, SLOW]:
            conn.execute("select cron.schedule(%s, %s, %s)", list(job))
        jobid = conn.execute("select jobid from cron.job where jobname = %s",
                             [SLOW[0]]).fetchone()[0]
        now = conn.execute("select now()").fetchone()[0]
        for k in range(5):  # it usually takes two and a half minutes: longer than its interval
            start = now - timedelta(hours=k + 1)
            insert_run(conn, jobid, start, start + timedelta(seconds=150), "succeeded", "1 row")
    yield c
    c.sandbox.destroy()


def test_crowded_minutes_and_overlaps(limited: Cluster) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["timeline", "-d", limited.conninfo, "--hours", "24", "--json"]) == 0
    plan = json.loads(out.getvalue())
    assert plan["max_running_jobs"] == 2
    assert all(set(m) >= {"at", "jobs", "over_limit"} for m in plan["minutes"])
    three = [m for m in plan["minutes"] if set(m["jobs"]) >= {j[0] for j in NIGHTLY}]
    assert len(three) == 1 and three[0]["over_limit"] is True and three[0]["at_once"] == 4
    assert datetime.fromisoformat(three[0]["at"]).strftime("%H:%M") == "03:15"
    # The other minutes: the two-minute job alone, or the runs still going, never over 2...
    alone = [m for m in plan["minutes"] if m["jobs"] == [SLOW[0]]]
    assert alone and not any(m["over_limit"] for m in alone)
    assert [o["job"] for o in plan["overlaps"]] == [SLOW[0]]
    assert plan["overlaps"][0]["median_s"] == 150 and plan["overlaps"][0]["gap_s"] == 120
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        assert main(["timeline", "-d", limited.conninfo]) == 0
    # At 03:15 the three start while the two-minute job's 03:14 run is still going.
    assert any("03:15  4 at once > 2: purge-sessions" in line
               for line in text.getvalue().splitlines()), text.getvalue()
    assert "queue behind themselves" in text.getvalue()


def _job(jobid: int, name: str, schedule: str) -> Job:
    return Job(jobid=jobid, jobname=name, schedule=schedule, command="SELECT 1",
               database="postgres", username="postgres", active=True)


def test_dst_gap_and_repeated_hour_in_the_schedulers_zone() -> None:
    jobs = [_job(1, "nightly-0230", "30 2 * * *"), _job(2, "every-15", "*/15 * * * *"),
            _job(3, "at-0500", "0 5 * * *")]
    usual: dict[int, Any] = {}
    spring = datetime(2026, 3, 28, 23, 0, tzinfo=timezone.utc)  # 00:00 in Berlin
    plan = build(jobs, usual, spring, 6, "Europe/Berlin", "1.6", None)
    (change,) = plan.dst
    assert change.kind == "gap" and change.local_from.endswith("02:00")
    assert change.local_to.endswith("03:00")
    assert dict(change.jobs) == {"nightly-0230": "skips 1 time(s): those local times do not "
                                                 "exist that day",
                                 "every-15": "skips 4 time(s): those local times do not exist "
                                             "that day"}
    assert not any("nightly-0230" in m.jobs for m in plan.minutes)

    autumn = datetime(2026, 10, 24, 22, 0, tzinfo=timezone.utc)  # 00:00 in Berlin
    plan = build(jobs, usual, autumn, 6, "Europe/Berlin", "1.6", None)
    (change,) = plan.dst
    assert change.kind == "repeat"
    assert dict(change.jobs)["nightly-0230"].startswith("runs 1 time(s) twice")
    twice = [m.at for m in plan.minutes if "nightly-0230" in m.jobs]
    assert [t.strftime("%H:%M %Z") for t in twice] == ["02:30 CEST", "02:30 CET"]
    assert "DST at" in render(plan)
    # UTC, as pg_cron 1.4 always uses: no change at all.
    assert build(jobs, usual, spring, 6, "UTC", "1.4", None).dst == []


async def test_timeline_screen(limited: Cluster) -> None:
    from textual.widgets import Static

    from tests.ui.conftest import running_app, wait_for
    from tui.ui.screens.timeline import TimelineScreen

    async with running_app(limited) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_name(SLOW[0]) is not None)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, TimelineScreen))
        widget = app.screen.query_one("#timeline", Static)
        await wait_for(pilot, lambda: "Next 24 h" in str(widget.render()))
        text = str(widget.render())
        assert "cron.max_running_jobs = 2" in text and "1 will queue" in text
        assert "sync-crm-contacts: median 150 s" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TimelineScreen))
