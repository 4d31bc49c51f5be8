"""A read cancelled at any moment of its call (Textual cancels workers routinely) stops on
the server and keeps the session: counted in pg_stat_activity by application_name."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import psycopg

from tests.conftest import Cluster
from tui.db import ConnectOptions, Database


def sessions(cluster: Cluster, name: str) -> list[tuple[int, str]]:
    return [(pid, state) for pid, state in cluster.sql(
        "select pid, state from pg_stat_activity where application_name = %s", [name])]


async def test_a_read_cancelled_at_any_moment_keeps_its_session(cluster: Cluster) -> None:
    name = f"cancel-{uuid.uuid4().hex[:8]}"
    db = Database(ConnectOptions(dbname=f"{cluster.conninfo} application_name={name}"))
    try:
        await db.runs_recent(limit=1)
        ((pid, _),) = sessions(cluster, name)
        with psycopg.connect(cluster.conninfo) as locker:
            # The read waits behind this lock whenever its query has begun; cancelled
            # before that (BEGIN, the limits still on their way), the server hears the
            # cancel request between statements, where it cancels nothing.
            locker.execute("lock table cron.job_run_details in access exclusive mode")
            for turns in range(12):
                read = asyncio.ensure_future(db.runs_recent(limit=1))
                for _ in range(turns):
                    await asyncio.sleep(0)
                read.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await read
                assert sessions(cluster, name) == [(pid, "idle")], f"cancelled after {turns}"
            locker.rollback()
        assert await db.runs_recent(limit=1) is not None
        assert [p for p, _ in sessions(cluster, name)] == [pid]
    finally:
        await db.close()
