"""What watch does not know is not a page: times whose history is purged, or before the job
existed, are not `missed`; a server down for a while is one episode, not one page per job and
minute."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.conftest import Cluster
from tests.insight.receivers import one_pass, watch_for
from tests.insight.test_explain import insert_run
from tui.insight.episodes import Change
from tui.insight.watch import State

EVERY_MINUTE = ("queue-drain", "* * * * *", "SELECT 1")
HOURLY = ("hourly-rollup", "7 * * * *", "SELECT 1")


def kinds(changes: list[Change]) -> list[tuple[str, str]]:
    return [(ch.state, ch.episode.kind) for ch in changes]


def history(c: Cluster, jobid: int, since: datetime, until: datetime) -> None:
    """A run at every minute in [since, until), as pg_cron would have written them."""
    with c.connect() as conn:
        t = since.replace(second=0, microsecond=0) + timedelta(minutes=1)
        while t < until:
            insert_run(conn, jobid, t + timedelta(seconds=0.4), t + timedelta(seconds=0.5),
                       "succeeded", "SELECT 1")
            t += timedelta(minutes=1)


async def test_a_first_watch_pages_for_nothing_it_does_not_know(fresh_cluster: Cluster) -> None:
    """History purged up to 5 minutes ago, a job created a minute ago that never ran, and a
    server that started after the first times a first pass looks at."""
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    old = c.value("select cron.schedule(%s, %s, %s)", list(EVERY_MINUTE))
    c.value("select cron.schedule(%s, %s, %s)", list(HOURLY))
    now = c.value("select now()")
    history(c, old, now - timedelta(minutes=40), now)
    c.sql("delete from cron.job_run_details where start_time < now() - interval '5 minutes'")
    state = State()
    changes = (await one_pass(watch_for(c.conninfo, state, []))).changes
    assert [k for k in kinds(changes) if k[1] in ("missed", "scheduler_down")] == []


async def test_downtime_is_one_episode(fresh_cluster: Cluster) -> None:
    """The watch had judged up to 12 minutes ago; the server then went down and came back
    (no job started in between): one scheduler episode, opened and then resolved, and no
    `missed` page for any job or minute."""
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    jobs = [c.value("select cron.schedule(%s, %s, %s)", [f"{EVERY_MINUTE[0]}-{k}",
                                                         *EVERY_MINUTE[1:]]) for k in range(5)]
    state = State()
    await one_pass(watch_for(c.conninfo, state, []))  # the watch's first look
    now = c.value("select now()")
    down_from = now - timedelta(minutes=12)
    for jobid in jobs:
        history(c, jobid, now - timedelta(minutes=40), down_from)
    cursor = state.cursors["default"]
    cursor.judged_until = down_from.isoformat()
    cursor.jobs_seen = {str(j): (now - timedelta(hours=1)).isoformat() for j in jobs}
    c.sandbox.stop()
    c.sandbox.start()
    c.sandbox.wait_ready()
    # The runs pg_cron itself made of these jobs before the stop: the server was down instead.
    c.sql("delete from cron.job_run_details where start_time >= %s and start_time < "
          "pg_postmaster_start_time()", [down_from])
    first = kinds((await one_pass(watch_for(c.conninfo, state, []))).changes)
    assert first == [("firing", "scheduler_down")]
    second = kinds((await one_pass(watch_for(c.conninfo, state, []))).changes)
    assert second == [("resolved", "scheduler_down")]


async def test_an_outage_the_watch_saw_is_its_only_episode(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    jobid = c.value("select cron.schedule(%s, %s, %s)", list(EVERY_MINUTE))
    state = State()
    await one_pass(watch_for(c.conninfo, state, []))
    now = c.value("select now()")
    history(c, jobid, now - timedelta(minutes=40), now - timedelta(minutes=12))
    cursor = state.cursors["default"]
    cursor.judged_until = (now - timedelta(minutes=12)).isoformat()
    cursor.jobs_seen = {str(jobid): (now - timedelta(hours=1)).isoformat()}
    c.sandbox.stop()
    try:
        down = kinds((await one_pass(watch_for(c.conninfo, state, []))).changes)
    finally:
        c.sandbox.start()
        c.sandbox.wait_ready()
    assert down == [("firing", "unreachable")]
    c.sql("delete from cron.job_run_details where start_time >= %s and start_time < "
          "pg_postmaster_start_time()", [now - timedelta(minutes=12)])
    back = kinds((await one_pass(watch_for(c.conninfo, state, []))).changes)
    assert back == [("resolved", "unreachable")]
