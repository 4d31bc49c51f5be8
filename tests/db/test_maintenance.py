"""The index on request and history retention, on real clusters (pg_cron 1.4 and 1.6)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import psycopg
import pytest

from tests.conftest import Cluster
from tui.db import ConnectOptions, Database
from tui.db import maintenance as maint


@pytest.fixture
def opts(cluster: Cluster) -> ConnectOptions:
    return ConnectOptions(dbname=cluster.conninfo)


@pytest.fixture
def history(cluster: Cluster) -> Iterator[Cluster]:
    """A private copy of the history for each test: old finished runs, old unfinished ones
    (end_time null; one with no start_time either), young ones, and an old 'running' row
    whose backend is this test's own live session (so it must be kept)."""
    cluster.sql("drop index if exists cron.job_run_details_jobid_runid_idx")
    cluster.sql("delete from cron.job_run_details")
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command,"
        " status, return_message, start_time, end_time) "
        "select 1, nextval('cron.runid_seq'), 0, 'postgres', 'postgres', 'select 1', "
        " 'succeeded', '1 row', now() - interval '40 days' + i * interval '1 minute', "
        " now() - interval '40 days' + i * interval '1 minute' + interval '1 second' "
        "from generate_series(1, 3000) as i")  # 3000 old finished runs
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command,"
        " status, return_message, start_time, end_time) values "
        "(1, nextval('cron.runid_seq'), 0, 'postgres', 'postgres', 'x', 'failed',"
        " 'server restarted', now() - interval '35 days', null),"
        "(1, nextval('cron.runid_seq'), 0, 'postgres', 'postgres', 'x', 'starting', null,"
        " null, null),"
        "(1, nextval('cron.runid_seq'), 0, 'postgres', 'postgres', 'x', 'succeeded', '1 row',"
        " now() - interval '34 days', now() - interval '34 days')")
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command,"
        " status, return_message, start_time, end_time) "
        "select 2, nextval('cron.runid_seq'), 0, 'postgres', 'postgres', 'select 1', "
        " 'succeeded', '1 row', now() - i * interval '1 hour', now() - i * interval '1 hour' "
        "from generate_series(1, 100) as i")  # 100 young runs
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command,"
        " status, return_message, start_time, end_time) values "
        "(2, nextval('cron.runid_seq'), 0, 'postgres', 'postgres', 'x', 'running', null,"
        " now() - interval '1 minute', null)")
    cluster.sql("analyze cron.job_run_details")
    yield cluster
    cluster.sql("drop index if exists cron.job_run_details_jobid_runid_idx")
    cluster.sql("delete from cron.job_run_details")


async def test_create_index_concurrently_then_facts_see_it(history: Cluster,
                                                          opts: ConnectOptions) -> None:
    seen: list[maint.IndexProgress] = []
    assert await maint.create_run_index(opts, on_progress=seen.append, poll_s=0.01)
    db = Database(opts)
    try:
        assert (await db.facts()).has_run_index
    finally:
        await db.close()
    assert seen and seen[-1].phase == "done"
    size = await maint.history_size(opts)
    assert size.has_index and not size.index_building
    assert not await maint.create_run_index(opts)  # already there: nothing to do


async def test_cancelled_index_build_leaves_nothing(history: Cluster,
                                                   opts: ConnectOptions) -> None:
    cancel = asyncio.Event()
    phases: list[str] = []
    with psycopg.connect(history.conninfo, autocommit=True) as locker:
        # A writer's open transaction: the concurrent build must wait for it to end.
        locker.execute("begin")
        locker.execute("delete from cron.job_run_details where runid = -1")
        build = asyncio.create_task(maint.create_run_index(
            opts, cancel=cancel, poll_s=0.02, on_progress=lambda p: phases.append(p.phase)))
        for _ in range(500):
            if any(p.startswith("waiting") for p in phases):
                break
            await asyncio.sleep(0.02)
        assert any(p.startswith("waiting") for p in phases), phases  # progress was polled
        cancel.set()
        await asyncio.sleep(0.3)
        # Dropping the invalid index a cancelled build leaves also waits for the writer.
        locker.execute("rollback")
        with pytest.raises(maint.Cancelled):
            await asyncio.wait_for(build, 30)
    size = await maint.history_size(opts)
    assert not size.has_index and not size.index_building


async def test_purge_deletes_exactly_the_old_rows(history: Cluster,
                                                 opts: ConnectOptions) -> None:
    keep_pid = history.value("select pg_backend_pid()")  # a closed session: gone
    with psycopg.connect(history.conninfo, autocommit=True) as alive:
        pid = alive.info.backend_pid
        alive_runid = history.value(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username,"
            " command, status, start_time) values (3, nextval('cron.runid_seq'), %s,"
            " 'postgres', 'postgres', 'x', 'running', now() - interval '60 days')"
            " returning runid", [pid])
        history.sql("update cron.job_run_details set job_pid = %s where status = 'failed'",
                    [keep_pid])
        before = history.value("select count(*) from cron.job_run_details")
        seen: list[maint.PurgeProgress] = []
        result = await maint.purge_history(opts, 30, batch=500, on_progress=seen.append)
        # 3000 + 'server restarted' + the 'starting' one with no times + the 34-day one.
        assert result.deleted == 3003
        assert not result.cancelled
        assert result.batches == len(seen) >= 6
        assert [p.deleted for p in seen] == sorted(p.deleted for p in seen)
        assert seen[-1].deleted == 3003
        left = history.sql("select jobid, status, runid from cron.job_run_details")
        assert len(left) == before - 3003 == 102
        assert (3, "running", alive_runid) in left  # its backend is alive: kept
        assert {j for j, _, _ in left} == {2, 3}
        assert result.bytes_before > 0 and result.bytes_after > 0


async def test_purge_cancel_stops_between_batches(history: Cluster,
                                                 opts: ConnectOptions) -> None:
    cancel = asyncio.Event()
    seen: list[maint.PurgeProgress] = []

    def progress(p: maint.PurgeProgress) -> None:
        seen.append(p)
        if len(seen) == 2:
            cancel.set()

    result = await maint.purge_history(opts, 30, batch=500, on_progress=progress,
                                       cancel=cancel)
    assert result.cancelled and result.batches == 2 == len(seen)
    assert result.deleted == 1000
    assert history.value("select count(*) from cron.job_run_details "
                         "where end_time < now() - interval '30 days'") == 2001


async def test_scheduled_purge_is_sql_pg_cron_accepts(history: Cluster) -> None:
    statement = maint.purge_job_sql(30, name="purge-test's history")
    jobid = history.value(statement)
    try:
        name, schedule, command = history.sql(
            "select jobname, schedule, command from cron.job where jobid = %s", [jobid])[0]
        assert (name, schedule) == ("purge-test's history", maint.PURGE_JOB_SCHEDULE)
        history.sql(command)  # run it once ourselves, as pg_cron would
        left = history.sql("select jobid, status from cron.job_run_details")
        assert len(left) == 101 and {j for j, _ in left} == {2}
    finally:
        history.sql("select cron.unschedule(%s::bigint)", [jobid])


async def test_scheduling_the_purge_makes_the_job_its_statement_shows(
        cluster: Cluster, opts: ConnectOptions) -> None:
    """The maintenance screen shows purge_job_sql and schedules through schedule_purge: both
    must make the very same job (run the shown statement after it: nothing changes)."""
    db = Database(opts)
    try:
        jobid = await maint.schedule_purge(db, 21)
    finally:
        await db.close()
    read = "select jobname, schedule, command, database, username from cron.job where jobid = %s"
    try:
        scheduled = cluster.sql(read, [jobid])
        assert scheduled[0][:2] == (maint.PURGE_JOB_NAME, maint.PURGE_JOB_SCHEDULE)
        assert cluster.value(maint.purge_job_sql(21)) == jobid  # same name: the same job
        assert cluster.sql(read, [jobid]) == scheduled
        assert cluster.value(maint.purge_job_sql(22)) == jobid
        assert cluster.sql(read, [jobid]) != scheduled  # the comparison can tell them apart
    finally:
        cluster.sql("select cron.unschedule(%s::bigint)", [jobid])
