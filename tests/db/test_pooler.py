"""Through a real PgBouncer in transaction mode: nothing we set outlives our transaction.

The pool has two server connections, so every client of it, ours included, takes turns on
the same server sessions. After our app and each subcommand ran (with a statement timeout
and read-only mode that differ from the server's defaults), every server connection of the
pool must still show the defaults to the next client.
"""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from tests.conftest import Cluster, Pooler, Role
from tui.config import Settings
from tui.db import ConnectOptions, Database, DatabaseError, actions
from tui.doctor import run_checks
from tui.ui.app import CronJobsApp

#: Values the server never has by default, so a leak cannot hide behind a coincidence.
OUR_TIMEOUT_MS = 4321

#: libpq's fallbacks pointed at nothing, so only the options given reach the pooler.
NOWHERE = {"PGHOST": "/nonexistent", "PGPORT": "1", "PGDATABASE": "nowhere", "PGUSER": "nobody"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          timeout=120, env={**os.environ, **NOWHERE})


def assert_pool_clean(pooler: Pooler, user: str = "postgres",
                      password: str | None = None) -> None:
    """Every server connection of the pool shows the server's defaults."""
    assert pooler.show_all("statement_timeout", user, password) == {"0"}
    assert pooler.show_all("default_transaction_read_only", user, password) == {"off"}
    assert pooler.show_all("transaction_read_only", user, password) == {"off"}
    assert pooler.show_all("role", user, password) == {"none"}
    # No named statement of ours left for the pool's next client (tui/db/connect.is_direct).
    assert pooler.on_each("select count(*) from pg_prepared_statements", user, password) == {"0"}


def test_the_pool_really_passes_settings_on(pooler: Pooler) -> None:
    """The fixture is a real transaction pooler: a session setting made by one client is
    seen by the next (what the app must never do)."""
    with psycopg.connect(pooler.conninfo(), autocommit=True, prepare_threshold=None) as conn:
        conn.execute("select set_config('statement_timeout', '4321', false)")
    try:
        assert "4321ms" in pooler.show_all("statement_timeout")
    finally:
        pooler.reset_all()
    assert_pool_clean(pooler)


@pytest.mark.parametrize("read_only", [False, True], ids=["read-write", "read-only"])
def test_subcommands_leave_the_pool_clean(pooler: Pooler, read_only: bool) -> None:
    common = ["-d", pooler.conninfo(), "--statement-timeout", str(OUR_TIMEOUT_MS)]
    if read_only:
        common.append("--read-only")
    runs = [
        ["jobs", "--json", *common],
        ["runs", "--format", "csv", *common],
        ["doctor", "--json", *common],
        ["schedule", "*/5 * * * *", "--json", *common],
        ["plan", "tui/lab/seed/jobs.toml", *common],
    ]
    for argv in runs:
        done = cli(*argv)
        assert "Traceback" not in done.stderr, (argv, done.stderr)
        assert done.returncode in (0, 1), (argv, done.stdout, done.stderr)
        assert_pool_clean(pooler)


async def test_the_app_leaves_the_pool_clean_and_names_the_pooler(pooler: Pooler) -> None:
    app = CronJobsApp(ConnectOptions(dbname=pooler.conninfo(), read_only=True,
                                     statement_timeout_ms=OUR_TIMEOUT_MS),
                      Settings(refresh_interval=0.3))
    async with app.run_test(size=(160, 40)) as pilot:
        for _ in range(300):
            if app.facts is not None and app.main.runs_table.row_count:
                break
            await pilot.pause(0.05)
        assert app.facts is not None and app.facts.read_only
        await pilot.pause(1.0)  # a few refreshes more, each a transaction on the pool
        header = str(app.main.query_one("ServerHeader").render())
    # The address the operator connected to, then the server's own, which differs.
    sb = pooler.cluster.sandbox
    assert f"postgres@127.0.0.1:{pooler.port}/postgres (server 127.0.0.1:{sb.port})" in header
    assert "READ-ONLY" in header
    assert_pool_clean(pooler)


async def test_read_only_write_is_refused_by_the_server_through_the_pool(
        pooler: Pooler) -> None:
    db = Database(ConnectOptions(dbname=pooler.conninfo(), read_only=True))

    async def write(conn: psycopg.AsyncConnection) -> Any:
        return await conn.execute("create table public.pooler_probe (x int)")

    try:
        with pytest.raises(DatabaseError, match="read-only transaction"):
            await db.with_connection(write)
        # Many times over: on whichever server connection the pool hands us.
        for _ in range(4):
            with pytest.raises(DatabaseError, match="read-only transaction"):
                await db.with_connection(write)
    finally:
        await db.close()
    assert pooler.cluster.value("select to_regclass('public.pooler_probe')") is None
    assert_pool_clean(pooler)


async def test_read_only_mode_refuses_an_unschedule_itself(pooler: Pooler,
                                                           cluster: Cluster) -> None:
    """cron.unschedule deletes even in a READ ONLY transaction: our own check comes first."""
    jobid = cluster.value("select cron.schedule('pooler-keep-me', '0 0 31 2 *', 'select 1')")
    db = Database(ConnectOptions(dbname=pooler.conninfo(), read_only=True))
    try:
        with pytest.raises(DatabaseError):
            await actions.delete_job(db, jobid)
    finally:
        await db.close()
        still = cluster.value("select count(*) from cron.job where jobid = %s", [jobid])
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = %s", [jobid])
    assert still == 1
    assert_pool_clean(pooler)


# -- a Supabase-shaped role, through the pooler --------------------------------------------

async def test_supabase_role_through_the_pooler(pooler: Pooler, supabase_role: Role,
                                                cluster: Cluster) -> None:
    """No superuser, BYPASSRLS, every privilege on pg_cron's objects: it sees every job,
    manages its own, runs them, and is told in a sentence what it may not know."""
    db = Database(ConnectOptions(dbname=supabase_role.via(pooler)))
    jobid = None
    try:
        facts = await db.facts()
        assert facts.current_user == supabase_role.name and not facts.is_superuser
        assert facts.sees_all and facts.cron_usage
        seed_jobs = {j.jobname for j in await db.jobs(indexed=facts.has_run_index)}
        assert {"weekly-adapter-check", "daily-usage-rollup"} <= seed_jobs  # BYPASSRLS
        # Its own job: create, pause, resume, edit, run now, delete.
        jobid = await actions.create_job(db, name="supabase-nightly-vacuum",
                                         schedule="0 0 31 2 *", command="select 1")
        assert not (await actions.set_active(db, jobid, False)).active
        assert (await actions.set_active(db, jobid, True)).active
        job = await actions.edit_job(db, await actions.get_job(db, jobid),
                                     command="select 2")
        assert job.command == "select 2"
        await actions.delete_job(db, jobid)
        assert cluster.value("select count(*) from cron.job where jobid = %s", [jobid]) == 0
        jobid = None
        # What needs more than this role has is said, never guessed.
        findings = await run_checks(db)
        texts = " ".join(f"{f.summary} {f.fix or ''}" for f in findings)
        if facts.pg_cron_minor != "1.4":
            assert facts.scheduler_timezone is None  # cron.timezone is superuser-only
            assert "pg_read_all_settings" in texts
    finally:
        if jobid is not None:
            cluster.sql("select cron.unschedule(%s)", [jobid])
        await db.close()
    assert_pool_clean(pooler, supabase_role.name, supabase_role.password)


def test_supabase_role_subcommands_through_the_pooler(pooler: Pooler,
                                                      supabase_role: Role) -> None:
    dsn = supabase_role.via(pooler)
    jobs = cli("jobs", "--json", "-d", dsn)
    assert jobs.returncode == 0, jobs.stderr
    assert "weekly-adapter-check" in jobs.stdout
    runs = cli("runs", "--json", "-d", dsn)
    assert runs.returncode == 0, runs.stderr
    doctor = cli("doctor", "-d", dsn)
    assert "Traceback" not in doctor.stderr and doctor.returncode in (0, 1), doctor.stderr
    assert_pool_clean(pooler, supabase_role.name, supabase_role.password)
