"""RecentRuns (tui/db/insight.py): the usual sample and the unfinished runs kept between reads,
each read asking only for what is new, hands out what the one-shot reads return, read after
read, as runs come, finish, come out of order, go and fall out of the window.

The shared cluster's pg_cron runs other tests' jobs meanwhile: only this test's jobs (paused,
so pg_cron adds no run of theirs) are compared."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import Cluster
from tui.db import ConnectOptions, Database
from tui.db import insight as reads
from tui.db.insight import RecentRuns

LOOKBACK = 10_000  # far more than other tests' runs meanwhile: ours stay in the window
PER_JOB = 3


@pytest.fixture
def jobs(cluster: Cluster) -> Iterator[list[int]]:
    ids = [cluster.value("select cron.schedule(%s, '0 0 31 2 *', 'select 1')",
                         [f"recent-runs-{k}"]) for k in range(3)]
    cluster.sql("update cron.job set active = false where jobid = any(%s)", [ids])
    yield ids
    cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [ids])


def add(c: Cluster, jobid: int, status: str, *, message: str = "1 row",
        runid: int | None = None, pid: int = 4_000_000) -> int:
    """A run as pg_cron writes it; a pid no backend has (an unfinished run is orphaned)."""
    ended = status in ("succeeded", "failed")
    return c.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) "
        "values (%s, coalesce(%s, nextval('cron.runid_seq')), %s, 'postgres', 'postgres', "
        "'select 1', %s, %s, now() - interval '3 s', case when %s then now() end) "
        "returning runid", [jobid, runid, pid, status, message, ended])


def mine(rows: list[dict[str, Any]], ids: list[int]) -> list[tuple[Any, ...]]:
    return sorted(tuple(sorted(r.items())) for r in rows if r["jobid"] in ids)


async def same(recent: RecentRuns, db: Database, ids: list[int]) -> tuple[int, int]:
    """One read of `recent` against the one-shot reads; (sample rows, unfinished rows)."""
    sample, unfinished = await recent.read(db)
    assert mine(sample, ids) == mine(await reads.recent_finished(db, LOOKBACK, PER_JOB), ids)
    assert mine(unfinished, ids) == mine(await reads.unfinished(db, LOOKBACK), ids)
    return len(mine(sample, ids)), len(mine(unfinished, ids))


async def test_read_after_read_as_the_one_shot_reads(cluster: Cluster, jobs: list[int]) -> None:
    a, b, c = jobs
    db = Database(ConnectOptions(dbname=cluster.conninfo))
    recent = RecentRuns(LOOKBACK, PER_JOB)
    try:
        for status in ["succeeded", "failed", "succeeded", "succeeded", "succeeded"]:
            add(cluster, a, status)  # five: the sample keeps the newest three
        going = add(cluster, b, "running")
        add(cluster, b, "succeeded", message="manual run by postgres with cronjobs-tui")
        assert await same(recent, db, jobs) == (3, 1)

        # A minute later: new runs, the running one finished, one started unfinished.
        add(cluster, c, "succeeded")
        add(cluster, a, "failed")
        cluster.sql("update cron.job_run_details set status = 'succeeded', end_time = now() "
                    "where runid = %s", [going])
        starting = add(cluster, c, "starting")
        assert recent.reads == 1  # the next read is an incremental one
        assert await same(recent, db, jobs) == (5, 1)

        # A run whose row shows up after a newer one's was read (its runid taken first).
        early = cluster.value("select nextval('cron.runid_seq')")
        add(cluster, b, "succeeded")
        assert await same(recent, db, jobs) == (6, 1)
        add(cluster, b, "failed", runid=early)
        cluster.sql("update cron.job_run_details set status = 'failed', end_time = now() "
                    "where runid = %s", [starting])
        assert await same(recent, db, jobs) == (8, 0)

        # A deleted run stays until the next whole read, which every FULL_EVERY-th read is.
        cluster.sql("delete from cron.job_run_details where runid = %s", [early])
        while recent.reads % recent.FULL_EVERY:
            await recent.read(db)
        assert await same(recent, db, jobs) == (7, 0)
    finally:
        await db.close()
        cluster.sql("delete from cron.job_run_details where jobid = any(%s)", [jobs])


async def test_runs_fall_out_of_the_window(cluster: Cluster, jobs: list[int]) -> None:
    """The window is the newest `lookback` runids at each read: older runs held go."""
    a, lookback = jobs[0], 50
    db = Database(ConnectOptions(dbname=cluster.conninfo))
    recent = RecentRuns(lookback, PER_JOB)
    try:
        old = add(cluster, a, "succeeded")
        await recent.read(db)
        assert old in recent.runs
        newest = cluster.value("select setval('cron.runid_seq', nextval('cron.runid_seq') "
                               "+ %s)", [lookback])
        new = add(cluster, a, "succeeded")
        sample, _ = await recent.read(db)
        assert new > newest and old not in recent.runs
        assert [r["runid"] for r in sample if r["jobid"] == a] == [new]
    finally:
        await db.close()
        cluster.sql("delete from cron.job_run_details where jobid = any(%s)", [jobs])


async def test_runs_since_kept_read_after_read_as_the_one_shot_read(cluster: Cluster,
                                                                    jobs: list[int]) -> None:
    """RunsSince (the app's pg_net matching, once a minute) hands out what runs_since reads,
    as runs come, finish, show up late and go."""
    from datetime import timedelta

    from tui.db.insight import RunsSince

    a, b, _ = jobs
    db = Database(ConnectOptions(dbname=cluster.conninfo))
    window = RunsSince()
    since = cluster.value("select now()") - timedelta(minutes=5)

    def ours(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return sorted((r for r in rows if r["jobid"] in jobs), key=lambda r: r["runid"])

    async def same() -> int:
        kept = ours(await window.read(db, since))
        assert kept == ours((await reads.runs_since(db, since))[0])
        return len(kept)

    try:
        add(cluster, a, "succeeded")
        going = add(cluster, b, "running")
        assert await same() == 2
        early = cluster.value("select nextval('cron.runid_seq')")
        add(cluster, a, "failed")
        cluster.sql("update cron.job_run_details set status = 'succeeded', end_time = now() "
                    "where runid = %s", [going])
        assert window.reads == 1  # the next read is an incremental one
        assert await same() == 3
        add(cluster, b, "failed", runid=early)  # its row shows up after a newer one's
        assert await same() == 4
        cluster.sql("delete from cron.job_run_details where runid = %s", [early])
        while window.reads % window.FULL_EVERY:
            await window.read(db, since)
        assert await same() == 3  # a deleted run goes at the next whole read
    finally:
        await db.close()
        cluster.sql("delete from cron.job_run_details where jobid = any(%s)", [jobs])
