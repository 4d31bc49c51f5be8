"""The steady refresh's reads are planned once per session, as named prepared statements, only
where nothing stands between the app and its server (tui/db/connect.is_direct); through a
pooler (tests/db/test_pooler.py checks the pool is left without any) or a proxy the plain path
stays."""

from __future__ import annotations

import psycopg

from benchmarks.proxy import Proxy
from tests.conftest import Cluster, Pooler
from tui.config import Settings
from tui.db import ConnectOptions
from tui.db.connect import is_direct, open_connection
from tui.ui.source import Source


async def plans(source: Source) -> dict[str, tuple[int, int]]:
    """The session's prepared statements: their (generic, custom) plans so far."""
    async def work(conn: psycopg.AsyncConnection) -> dict[str, tuple[int, int]]:
        cur = await conn.execute(
            "select statement, generic_plans, custom_plans from pg_prepared_statements")
        return {row[0]: (row[1], row[2]) for row in await cur.fetchall()}

    return await source.db.with_connection(work)


async def prepared(source: Source) -> set[str]:
    return set(await plans(source))


async def settings(source: Source) -> tuple[str, str]:
    async def work(conn: psycopg.AsyncConnection) -> tuple[str, str]:
        cur = await conn.execute("select current_setting('plan_cache_mode'), "
                                 "current_setting('max_parallel_workers_per_gather')")
        row = await cur.fetchone()
        assert row is not None
        return row[0], row[1]

    return await source.db.with_connection(work)


async def test_steady_reads_are_prepared_on_a_direct_connection(cluster: Cluster) -> None:
    source = Source(ConnectOptions(dbname=cluster.conninfo), Settings())
    try:
        for _ in range(4):
            view = await source.refresh()
            assert view.connected, view.error
        statements = await prepared(source)
    finally:
        await source.close()
    assert any("runs newer than the last one seen" in s.lower() for s in statements)
    assert any("fingerprint" in s for s in statements)
    assert not any("jobs with their latest run" in s.lower() for s in statements)  # full reads


async def test_steady_reads_keep_one_plan_and_no_setting_outlives_them(cluster: Cluster) -> None:
    source = Source(ConnectOptions(dbname=cluster.conninfo), Settings())
    try:
        before = await settings(source)
        refreshes = 8  # PostgreSQL's own choice would plan the first five anew at least
        for _ in range(refreshes):
            view = await source.refresh()
            assert view.connected, view.error
        made = await plans(source)
        after = await settings(source)
    finally:
        await source.close()
    # The limits themselves are planned before they take effect (a trivial plan).
    with_params = {s: n for s, n in made.items() if "$1" in s and "Our limits" not in s}
    assert any("runs newer than the last one seen" in s.lower() for s in with_params)
    for statement, (generic, custom) in with_params.items():
        assert custom == 0 and generic >= refreshes - 2, (statement.split("\n")[0], generic)
    assert after == before  # set for the steady reads' transaction only (SET LOCAL)


async def test_nothing_is_prepared_through_a_proxy(cluster: Cluster) -> None:
    sb = cluster.sandbox
    with Proxy("127.0.0.1", sb.port) as proxy:
        source = Source(ConnectOptions(dbname=proxy.conninfo(cluster.conninfo)), Settings())
        try:
            for _ in range(4):
                view = await source.refresh()
                assert view.connected, view.error
            assert await prepared(source) == set()
        finally:
            await source.close()


async def test_is_direct_tells_a_pooler_from_the_server(cluster: Cluster, pooler: Pooler) -> None:
    for conninfo, direct in ((cluster.conninfo, True), (pooler.conninfo(), False)):
        conn = await open_connection(ConnectOptions(dbname=conninfo))
        try:
            cur = await conn.execute("select inet_client_port()")
            (port,) = await cur.fetchone() or (None,)
            assert is_direct(conn, port) is direct, conninfo
        finally:
            await conn.close()
