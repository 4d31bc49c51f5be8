"""`explain` on what the real scheduler did: two jobs that overrun their minute and hold both
slots of cron.max_running_jobs = 2, a quick one that waits for a slot, then the scheduler
stopped for a minute.

Terminating the launcher (pg_terminate_backend) stops it for good on pg_cron 1.4.2 (it exits
cleanly and PostgreSQL does not restart it), while on 1.6.5 it exits with code 1 and is back a
second later: there the server itself is stopped over the next minute instead.
With cron.max_running_jobs = 1 pg_cron 1.4.2 never recorded the end of a run that had ended
(seen here: status 'running' minutes after its backend went idle), so 2 it is.

This is the one place the suite waits for real minutes (about four): both pg_cron versions'
clusters are started at once and waited for together, in one fixture.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import INSTALLATIONS, Cluster, start_cluster
from tui.db import ConnectOptions, Database
from tui.insight.gather import explain_job

pytestmark = pytest.mark.realtime  # waits for the scheduler's real minutes

OVERRUN = ("ledger-rebuild", "* * * * *", "SELECT pg_sleep(75)")  # longer than its minute
EXPORT = ("batch-export", "* * * * *", "SELECT pg_sleep(75)")
QUICK = ("cache-warm", "* * * * *", "SELECT count(*) FROM pg_class")


def _wait_until(c: Cluster, when: datetime) -> None:
    while (left := (when - c.value("select now()")).total_seconds()) > 0:
        time.sleep(min(left, 5))


@pytest.fixture(scope="module")
def live() -> Iterator[dict[str, Any]]:
    clusters = {i.label: start_cluster(i, **{"cron.max_running_jobs": "2"})
                for i in INSTALLATIONS}
    try:
        first = next(iter(clusters.values()))
        for c in clusters.values():
            for job in (OVERRUN, EXPORT, QUICK):
                c.value("select cron.schedule(%s, %s, %s)", list(job))
        now = first.value("select now()")
        m1 = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
        # By M3 + 45 s every queued run of M1 and M2 has started (two slots, 75 s runs).
        _wait_until(first, m1 + timedelta(minutes=2, seconds=45))
        for c in clusters.values():
            c.sql("select pg_terminate_backend(pid) from pg_stat_activity "
                  "where backend_type = 'pg_cron launcher'")
        time.sleep(3)
        how = {}
        for label, c in clusters.items():
            if c.value("select count(*) from pg_stat_activity "
                       "where backend_type = 'pg_cron launcher'"):
                c.sandbox.stop()  # the launcher came back: stop the server instead
                how[label] = "server"
            else:
                how[label] = "launcher"
        # ...and M4 passes with no scheduler. A stopped server is started only after M5, so
        # that whatever pg_cron does with the minute it starts in cannot touch M4.
        back = m1 + timedelta(minutes=4 if "server" in how.values() else 3, seconds=5)
        while datetime.now(timezone.utc) < back:
            time.sleep(1)
        for label, c in clusters.items():
            if how[label] == "server":
                c.sandbox.start()
                c.sandbox.wait_ready()
        yield {"clusters": clusters, "m1": m1, "how": how}
    finally:
        for c in clusters.values():
            c.sandbox.destroy()


async def _explain(c: Cluster, name: str, since: datetime) -> dict[datetime, Any]:
    db = Database(ConnectOptions(dbname=c.conninfo))
    try:
        facts = await db.facts()
        job = next(j for j in await db.jobs(indexed=False) if j.jobname == name)
        result = await explain_job(db, facts, job, since, [], settle=timedelta(0))
    finally:
        await db.close()
    return {o.scheduled: o for o in result.outcomes}


@pytest.mark.parametrize("label", [i.label for i in INSTALLATIONS])
async def test_real_scheduler_causes(live: dict[str, Any], label: str) -> None:
    c, m1 = live["clusters"][label], live["m1"]
    since = m1 - timedelta(seconds=1)
    overrun = await _explain(c, OVERRUN[0], since)
    quick = await _explain(c, QUICK[0], since)
    runs = c.sql("select jobid, runid, status, start_time, end_time from cron.job_run_details "
                 "order by runid")
    m2, m3, m4 = (m1 + timedelta(minutes=k) for k in (1, 2, 3))
    assert overrun[m1].outcome in ("ran", "running", "late"), (overrun, runs)
    # Due at M2 while its M1 run still slept: it waited for it.
    assert overrun[m2].outcome in ("late", "running"), (overrun, runs)
    assert "its own previous run" in overrun[m2].reason
    # At M2 both slots were the long jobs' M1 runs: the quick job waited for one.
    limited = [o for o in quick.values() if "cron.max_running_jobs = 2" in o.reason]
    assert limited and all(o.outcome == "late" for o in limited), (quick, runs)
    assert all(o.held_by for o in limited)
    # While the scheduler was away nothing started, and explain says why.
    why = ("launcher is not running" if live["how"][label] == "launcher"
           else "server restarted")
    for outcomes in (overrun, quick):
        assert outcomes[m4].outcome == "scheduler_down", (outcomes, runs)
        assert why in outcomes[m4].reason
    assert m3 in quick
