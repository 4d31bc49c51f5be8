"""Each query of the data layer, against a real pg_cron."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from tests.conftest import Cluster
from tui.db import ConnectOptions, Database, DatabaseError, RunStream
from tui.db.client import explain, require_pg_cron
from tui.db.connect import open_connection, transaction


def db_for(cluster: Cluster, **kw: object) -> Database:
    return Database(ConnectOptions(dbname=cluster.conninfo, **kw))  # type: ignore[arg-type]


def add_runs(cluster: Cluster, jobid: int, statuses: list[str]) -> list[int]:
    """Rows as pg_cron writes them (a run's life is tested against the real scheduler too)."""
    ids = []
    for status in statuses:
        ended = status in ("succeeded", "failed")
        ids.append(cluster.value(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
            "command, status, return_message, start_time, end_time) "
            "values (%s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', %s, "
            "%s, now() - interval '2 s', case when %s then now() end) returning runid",
            [jobid, status, "1 row" if status == "succeeded" else "boom", ended]))
    return ids


def jobid_of(cluster: Cluster, name: str) -> int:
    return cluster.value("select jobid from cron.job where jobname = %s", [name])


async def test_facts(cluster: Cluster) -> None:
    db = db_for(cluster)
    facts = await db.facts()
    await db.close()
    assert facts.pg_cron_minor == cluster.pg_cron
    assert facts.database == "postgres"
    assert facts.current_user == "postgres"
    assert facts.is_superuser and facts.sees_all
    assert facts.scheduler_alive
    assert facts.cron_database_name == "postgres"
    # pg_cron 1.4 evaluates in UTC; 1.5+ reads cron.timezone, whose default is GMT.
    assert facts.scheduler_timezone == ("UTC" if cluster.pg_cron == "1.4" else "GMT")
    assert abs(facts.now - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert not facts.read_only
    require_pg_cron(facts)  # does not raise


async def test_read_only_session(cluster: Cluster) -> None:
    opts = ConnectOptions(dbname=cluster.conninfo, read_only=True)
    conn = await open_connection(opts)
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        async with transaction(conn, opts):
            await conn.execute("select cron.schedule('ro-probe', '* * * * *', 'select 1')")
    await conn.close()
    db = Database(opts)
    facts = await db.facts()
    assert facts.read_only and facts.read_only_reason is None  # ours, not the server's
    with pytest.raises(DatabaseError, match="read-only transaction"):
        await db.with_connection(lambda c: c.execute(
            "select cron.schedule('ro-probe', '* * * * *', 'select 1')"))
    await db.close()
    assert cluster.value("select count(*) from cron.job where jobname = 'ro-probe'") == 0


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "lookback"])
async def test_jobs_with_latest_run(cluster: Cluster, indexed: bool) -> None:
    daily = jobid_of(cluster, "daily-usage-rollup")
    runids = add_runs(cluster, daily, ["failed", "succeeded", "running"])
    db = db_for(cluster)
    jobs = {j.jobname: j for j in await db.jobs(indexed=indexed)}
    await db.close()
    assert {"weekly-adapter-check", "daily-usage-rollup"} <= set(jobs)
    job = jobs["daily-usage-rollup"]
    assert job.schedule == "5 0 * * *"
    assert job.command == "SELECT public.rollup_daily_usage()"
    assert job.active and job.username == "postgres" and job.database == "postgres"
    assert job.last_runid == runids[-1] and job.last_status == "running"
    assert jobs["weekly-adapter-check"].last_runid is None


async def test_lookback_query_is_bounded(cluster: Cluster) -> None:
    """Without the (jobid, runid) index, a run older than the look-back is not searched for."""
    from tui.db import client

    weekly = jobid_of(cluster, "weekly-adapter-check")
    (old,) = add_runs(cluster, weekly, ["succeeded"])
    cluster.sql("select setval('cron.runid_seq', nextval('cron.runid_seq') + %s)",
                [client.LOOKBACK_RUNS])
    add_runs(cluster, jobid_of(cluster, "daily-usage-rollup"), ["succeeded"])
    db = db_for(cluster)
    by_lookback = {j.jobid: j for j in await db.jobs(indexed=False)}
    by_index = {j.jobid: j for j in await db.jobs(indexed=True)}
    await db.close()
    assert by_lookback[weekly].last_runid is None
    assert by_index[weekly].last_runid == old
    cluster.sql("delete from cron.job_run_details where runid = %s", [old])


async def test_run_index_detected(fresh_cluster: Cluster) -> None:
    db = db_for(fresh_cluster)
    assert not (await db.facts()).has_run_index
    fresh_cluster.sql("create index on cron.job_run_details (jobid, runid)")
    assert (await db.facts()).has_run_index
    await db.close()


async def test_runs_keyset_and_filters(cluster: Cluster) -> None:
    jobid = jobid_of(cluster, "daily-usage-rollup")
    ids = add_runs(cluster, jobid, ["succeeded", "failed", "succeeded", "failed", "succeeded"])
    db = db_for(cluster)
    page1 = await db.runs_recent(limit=2, jobid=jobid)
    page2 = await db.runs_recent(limit=2, jobid=jobid, before=page1[-1].runid)
    assert [r.runid for r in page1] == [ids[4], ids[3]]
    assert [r.runid for r in page2] == [ids[2], ids[1]]
    failed = await db.runs_recent(limit=10, jobid=jobid, status="failed")
    assert {r.runid for r in failed} >= {ids[1], ids[3]}
    assert all(r.status == "failed" and r.jobid == jobid for r in failed)
    assert page1[0].jobname == "daily-usage-rollup"
    after = await db.runs_after(ids[1], jobid=jobid)
    assert [r.runid for r in after] == ids[2:]
    assert [r.runid for r in await db.runs_by_ids([ids[0], ids[4]])] == [ids[0], ids[4]]
    await db.close()


async def test_stream_follows_new_and_unfinished_runs(cluster: Cluster) -> None:
    jobid = jobid_of(cluster, "daily-usage-rollup")
    db = db_for(cluster)
    stream = RunStream(db, jobid=jobid)
    await stream.start(backlog=5)
    (running,) = add_runs(cluster, jobid, ["running"])
    new, _ = await stream.poll()
    assert [r.runid for r in new] == [running] and running in stream.unfinished
    cluster.sql("update cron.job_run_details set status = 'succeeded', end_time = now() "
                "where runid = %s", [running])
    (later,) = add_runs(cluster, jobid, ["failed"])
    new, changed = await stream.poll()
    assert [r.runid for r in new] == [later]
    assert [(r.runid, r.status) for r in changed] == [(running, "succeeded")]
    assert stream.unfinished == set() and stream.last_runid == later
    new, changed = await stream.poll()
    assert new == [] and changed == []
    await db.close()


async def test_stream_sees_the_real_scheduler(cluster: Cluster) -> None:
    """A job pg_cron itself runs shows up in the stream (pg_cron reports a SELECT as "1 row")."""
    import asyncio

    schedule = "* * * * *" if cluster.pg_cron == "1.4" else "2 seconds"
    jobid = cluster.value("select cron.schedule('stream-probe', %s, 'select 42')", [schedule])
    db = db_for(cluster)
    stream = RunStream(db, jobid=jobid)
    await stream.start()
    seen: list = []
    try:
        for _ in range(140):
            new, changed = await stream.poll()
            seen += [r for r in new + changed if r.status == "succeeded"]
            if seen:
                break
            await asyncio.sleep(0.5)
    finally:
        cluster.sql("select cron.unschedule('stream-probe')")
        await db.close()
    assert seen and seen[0].return_message == "1 row" and seen[0].jobname == "stream-probe"


async def test_connection_error_is_explained() -> None:
    db = Database(ConnectOptions(host="127.0.0.1", port="1", connect_timeout_s=2))
    # Never connected: "could not connect", naming the server tried (not "connection lost").
    with pytest.raises(DatabaseError, match=r"could not connect to \S+@127\.0\.0\.1:1/") as info:
        await db.facts()
    assert info.value.lost


async def test_a_failed_early_connect_is_reported_by_the_first_query_not_tried_twice() -> None:
    """The app connects while Textual draws its first frame (Database.open): when that fails,
    the first refresh says so at once instead of waiting out the server a second time; the
    next one tries again."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted: list[int] = []

    def hang_up() -> None:  # a server that takes each connection and drops it at once
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            accepted.append(1)
            conn.close()

    threading.Thread(target=hang_up, daemon=True).start()
    port = str(server.getsockname()[1])
    db = Database(ConnectOptions(host="127.0.0.1", port=port, connect_timeout_s=2))
    try:
        await db.open()  # fails, quietly
        tried = len(accepted)
        assert tried >= 1
        with pytest.raises(DatabaseError, match=rf"could not connect to \S+@127\.0\.0\.1:{port}/"):
            await db.facts()
        assert len(accepted) == tried  # reported, not tried again
        with pytest.raises(DatabaseError, match="could not connect"):
            await db.facts()
        assert len(accepted) == 2 * tried  # the next query tries again
    finally:
        server.close()


async def test_statement_timeout(cluster: Cluster) -> None:
    opts = ConnectOptions(dbname=cluster.conninfo, statement_timeout_ms=300)
    conn = await open_connection(opts)
    assert (await (await conn.execute("show application_name")).fetchone()) == ("cronjobs-tui",)
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        async with transaction(conn, opts):
            await conn.execute("select pg_sleep(3)")
    # The limit was the transaction's only: the session keeps the server's default.
    assert (await (await conn.execute("show statement_timeout")).fetchone()) == ("0",)
    await conn.close()
    error = explain(info.value)
    assert "timed out" in str(error) and "statement timeout" in str(error)
    assert not error.lost


async def test_closed_in_a_call_the_next_connection_works(cluster: Cluster) -> None:
    """The app quits while a worker reads: its session closes under the call. The call's wait
    on the socket ends first; else the event loop would still watch the closed socket's
    number, which the next connection gets ("connection socket closed")."""
    import asyncio

    db = db_for(cluster)
    reading = asyncio.ensure_future(db.with_connection(
        lambda conn: conn.execute("select pg_sleep(60) -- closed-in-a-call")))
    while not cluster.value("select count(*) from pg_stat_activity where query like "
                            "'select pg_sleep(60) -- closed-in-a-call%'"):
        await asyncio.sleep(0.05)
    await db.close()
    for _ in range(3):  # its socket's number is the lowest free one: the next connection's
        conn = await open_connection(db.opts)
        assert await (await conn.execute("select 1")).fetchone() == (1,)
        await conn.close()
    await asyncio.wait({reading})
    assert reading.cancelled()


async def test_the_jobs_follow_a_purge_at_the_next_read(cluster: Cluster) -> None:
    """A purge deletes a job's last run: the next steady read says so (the statistics' count
    of deleted runs moved), not a full read's worth of refreshes later."""
    from tui.db.stream import JobsTracker

    jobid = cluster.value("select cron.schedule('purge-follow', '0 0 31 2 *', 'select 1')")
    first, last = add_runs(cluster, jobid, ["succeeded", "failed"])
    db = db_for(cluster)
    try:
        tracker = JobsTracker(db)
        (job,) = [j for j in await tracker.read(indexed=False) if j.jobid == jobid]
        assert (job.last_runid, job.last_status) == (last, "failed")
        counted = ("select pg_stat_get_tuples_deleted('cron.job_run_details'::regclass)")
        before = cluster.value(counted)
        with psycopg.connect(cluster.conninfo, autocommit=True) as other:
            other.execute("delete from cron.job_run_details where runid = %s", [last])
        # The deleting session's statistics reach the server as its backend exits, a moment
        # after the connection closed: the next read after that notices.
        for _ in range(200):
            if cluster.value(counted) != before:
                break
            time.sleep(0.05)
        (job,) = [j for j in await tracker.read(indexed=False) if j.jobid == jobid]
        assert (job.last_runid, job.last_status) == (first, "succeeded")
    finally:
        await db.close()
        cluster.sql("select cron.unschedule('purge-follow')")


async def test_a_gap_in_runids_is_no_flood_of_runs(cluster: Cluster) -> None:
    """A sequence that skips numbers (setval after a restore) is not many new runs: the next
    steady read is still one round trip. More new runs than a steady read takes are read in
    full (two: the markers, then every job), and the job's last run is right either way."""
    from benchmarks.proxy import Proxy
    from tui.db.stream import MAX_NEW_RUNS, JobsTracker

    jobid = cluster.value("select cron.schedule('runid-gap', '0 0 31 2 *', 'select 1')")
    add_runs(cluster, jobid, ["succeeded"])
    with Proxy("127.0.0.1", cluster.sandbox.port) as proxy:
        db = Database(ConnectOptions(dbname=proxy.conninfo(cluster.conninfo)))
        tracker = JobsTracker(db)

        async def last_run() -> tuple[int | None, str | None, int]:
            with proxy.measure() as counts:
                (job,) = [j for j in await tracker.read(indexed=False) if j.jobid == jobid]
            return job.last_runid, job.last_status, counts.round_trips

        try:
            await last_run()  # the first read is a full one
            cluster.sql("select setval('cron.runid_seq', nextval('cron.runid_seq') + %s)",
                        [MAX_NEW_RUNS * 5])
            (after_gap,) = add_runs(cluster, jobid, ["failed"])
            assert await last_run() == (after_gap, "failed", 1)
            newest = cluster.value(
                "with added as (insert into cron.job_run_details (jobid, runid, job_pid, "
                "database, username, command, status, return_message, start_time, end_time) "
                "select %s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', "
                "'succeeded', '1 row', now(), now() from generate_series(1, %s) "
                "returning runid) select max(runid) from added", [jobid, MAX_NEW_RUNS])
            assert await last_run() == (newest, "succeeded", 2)
        finally:
            await db.close()
            cluster.sql("delete from cron.job_run_details where jobid = %s", [jobid])
            cluster.sql("select cron.unschedule(%s)", [jobid])
