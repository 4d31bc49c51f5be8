"""The operator's actions against a real pg_cron: what the database holds afterwards, and that
a refused action leaves it exactly as it was."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import Cluster, Pooler, Role, Standby
from tui import http_jobs as http
from tui.db import ConnectOptions, Database, DatabaseError
from tui.db.actions import (
    CHECK_PREFIX,
    JobChanged,
    NeedsConfirmation,
    RunInProgress,
    TriggerRun,
    cancel_run,
    check_schedule,
    create_job,
    delete_job,
    edit_job,
    get_job,
    plan_run,
    refusal,
    runs_in_progress,
    set_active,
    trigger,
)

#: Far from any test run: the real scheduler must not fire these jobs meanwhile.
NEVER = "0 0 1 1 *"

ROW = "select jobname, schedule, command, database, username, active from cron.job "


def db_for(cluster: Cluster, user: str = "postgres", **kw: Any) -> Database:
    """Over TCP as `user`, with the passwords of the sandbox's passfile (as an operator's
    .pgpass would hold them)."""
    from psycopg.conninfo import make_conninfo

    return Database(ConnectOptions(dbname=make_conninfo(cluster.conninfo, user=user), **kw))


def unique(prefix: str = "act") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def row_of(cluster: Cluster, jobid: int) -> tuple[Any, ...] | None:
    rows = cluster.sql(ROW + "where jobid = %s", [jobid])
    return rows[0] if rows else None


def job_count(cluster: Cluster) -> int:
    return cluster.value("select count(*) from cron.job")


def run_row(cluster: Cluster, runid: int) -> dict[str, Any]:
    with cluster.connect() as conn:
        cur = conn.execute("select * from cron.job_run_details where runid = %s", [runid])
        names = [d.name for d in cur.description or []]
        return dict(zip(names, cur.fetchone() or ()))


@pytest.fixture
def make_job(cluster: Cluster) -> Iterator[Callable[..., int]]:
    """Jobs with unique names, created as pg_cron's own SQL would; removed afterwards."""
    made: list[int] = []

    def make(command: str = "select 1", *, username: str = "postgres",
             database: str = "postgres", schedule: str = NEVER) -> int:
        jobid = cluster.value("select cron.schedule_in_database(%s, %s, %s, %s, %s)",
                              [unique(), schedule, command, database, username])
        made.append(jobid)
        return jobid

    yield make
    cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [made])


@pytest.fixture
def make_role(cluster: Cluster) -> Iterator[Callable[..., str]]:
    """Login roles of their own (roles are cluster-wide, the cluster is shared)."""
    made: list[str] = []

    def make(password: bool = True) -> str:
        """With `password`, its password is in the passfile: it can log in over TCP."""
        import secrets

        name = unique("r").replace("-", "_")
        secret = secrets.token_hex(12)
        cluster.sql(f"create role \"{name}\" login password '{secret}'")
        cluster.sql(f'grant usage on schema cron to "{name}"')
        if password:
            with cluster.sandbox.passfile.open("a") as out:
                out.write(f"127.0.0.1:*:*:{name}:{secret}\n")
        made.append(name)
        return name

    yield make
    for name in made:
        # A job owned by a dropped role would stop pg_cron's scheduler from starting.
        cluster.sql("select cron.unschedule(jobid) from cron.job where username = %s", [name])
        cluster.sql(f'drop owned by "{name}"')
        cluster.sql(f'drop role "{name}"')


@pytest.fixture
def probe(cluster: Cluster) -> str:
    """A table a command writes to, to see who ran it, where, and on which backend."""
    cluster.sql("create table if not exists public.act_probe "
                "(tag text, who text, pid int, db text)")
    cluster.sql("grant insert on public.act_probe to public")
    return unique("tag")


def probe_command(tag: str) -> str:
    return ("insert into public.act_probe "
            f"select '{tag}', current_user, pg_backend_pid(), current_database()")


# -- check_schedule -----------------------------------------------------------


async def test_check_schedule(cluster: Cluster) -> None:
    before = job_count(cluster)
    db = db_for(cluster)
    assert await check_schedule(db, "*/5 * * * *") is None
    assert await check_schedule(db, "@daily") is None
    verdict = await check_schedule(db, "5/15 * * * *")
    assert verdict is not None and verdict.startswith("invalid schedule: 5/15 * * * *")
    if cluster.pg_cron == "1.6":
        assert "(" in verdict  # 1.6 adds a HINT, shown after the message
        assert await check_schedule(db, "0 0 $ * *") is None
    else:
        assert await check_schedule(db, "0 0 $ * *") is not None
    await db.close()
    assert job_count(cluster) == before
    assert cluster.value("select count(*) from cron.job where jobname like %s",
                         [CHECK_PREFIX + "%"]) == 0


async def test_check_schedule_in_read_only_session(cluster: Cluster) -> None:
    db = db_for(cluster, read_only=True)
    assert await check_schedule(db, "0 12 * * *") is None
    assert (await check_schedule(db, "0 25 * * *") or "").startswith("invalid schedule")
    await db.close()


# -- set_active ------------------------------------------------------------------


async def test_pause_and_resume_set_the_state(cluster: Cluster, make_job: Callable[..., int]
                                              ) -> None:
    jobid = make_job()
    db = db_for(cluster)
    job = await set_active(db, jobid, False)
    assert not job.active and row_of(cluster, jobid)[5] is False  # type: ignore[index]
    job = await set_active(db, jobid, False)  # again: still paused, never toggled
    assert not job.active and row_of(cluster, jobid)[5] is False  # type: ignore[index]
    job = await set_active(db, jobid, True)
    assert job.active and row_of(cluster, jobid)[5] is True  # type: ignore[index]
    assert job.jobid == jobid and job.schedule == NEVER
    with pytest.raises(DatabaseError, match="no longer exists"):
        await set_active(db, 987_654_321, False)
    await db.close()


# -- edit_job ------------------------------------------------------------------------


async def test_edit_changes_only_the_given_fields(cluster: Cluster,
                                                  make_job: Callable[..., int]) -> None:
    jobid = make_job("select 1")
    db = db_for(cluster)
    loaded = await get_job(db, jobid)
    edited = await edit_job(db, loaded, schedule="15 3 * * *", command="select 2")
    name = loaded.jobname
    assert row_of(cluster, jobid) == (name, "15 3 * * *", "select 2", "postgres", "postgres",
                                      True)
    assert (edited.schedule, edited.command) == ("15 3 * * *", "select 2")
    # Nothing different: nothing sent, the job as it is comes back.
    assert await edit_job(db, edited, command="select 2") == edited
    await db.close()


async def test_edit_of_a_stale_job_is_refused(cluster: Cluster,
                                              make_job: Callable[..., int]) -> None:
    jobid = make_job("select 1")
    db = db_for(cluster)
    loaded = await get_job(db, jobid)
    cluster.sql("select cron.alter_job(%s, schedule := '7 7 * * *')", [jobid])
    before = row_of(cluster, jobid)
    with pytest.raises(JobChanged) as info:
        await edit_job(db, loaded, command="select 'mine'")
    assert info.value.changes == [("schedule", NEVER, "7 7 * * *")]
    assert "schedule" in str(info.value) and "nothing was saved" in str(info.value)
    assert row_of(cluster, jobid) == before
    # Paused meanwhile counts too.
    fresh = await get_job(db, jobid)
    cluster.sql("select cron.alter_job(%s, active := false)", [jobid])
    with pytest.raises(JobChanged) as info:
        await edit_job(db, fresh, schedule="1 1 * * *")
    assert info.value.changes == [("active", True, False)]
    assert row_of(cluster, jobid)[1] == "7 7 * * *"  # type: ignore[index]
    await db.close()


@pytest.mark.parametrize(("change", "error"), [
    ({"schedule": "5/15 * * * *"}, "invalid schedule: 5/15"),
    ({"schedule": "  "}, "schedule is empty"),
    ({"command": "   "}, "command is empty"),
    ({"command": "x" * 100_001}, "limit is 100,000"),
    ({"database": "no_such_db"}, "database 'no_such_db' does not exist"),
    ({"username": "no_such_role"}, "role 'no_such_role' does not exist"),
    ({"command": "select 3", "database": "no_such_db"}, "does not exist"),
], ids=["schedule", "empty-schedule", "empty-command", "long-command", "database", "role",
        "command-and-database"])
async def test_refused_edit_writes_nothing(cluster: Cluster, make_job: Callable[..., int],
                                          change: dict[str, str], error: str) -> None:
    jobid = make_job("select 1")
    before = row_of(cluster, jobid)
    db = db_for(cluster)
    loaded = await get_job(db, jobid)
    with pytest.raises(DatabaseError, match=error) as info:
        await edit_job(db, loaded, **change)
    assert "nothing was saved" in str(info.value)
    assert row_of(cluster, jobid) == before
    await db.close()


async def test_edit_moves_a_job_to_another_role(cluster: Cluster, make_job: Callable[..., int],
                                                make_role: Callable[..., str]) -> None:
    role = make_role()
    jobid = make_job()
    db = db_for(cluster)
    edited = await edit_job(db, await get_job(db, jobid), username=role)
    assert edited.username == role and row_of(cluster, jobid)[4] == role  # type: ignore[index]
    await db.close()


# -- create_job / delete_job ------------------------------------------------------------


async def test_create_and_delete(cluster: Cluster) -> None:
    name = unique()
    db = db_for(cluster)
    jobid = await create_job(db, name=name, schedule=NEVER, command="select 'created'")
    assert row_of(cluster, jobid) == (name, NEVER, "select 'created'", "postgres", "postgres",
                                      True)
    paused = await create_job(db, name=unique(), schedule=NEVER, command="select 1",
                              active=False)
    assert row_of(cluster, paused)[5] is False  # type: ignore[index]
    await delete_job(db, jobid)
    await delete_job(db, paused)
    assert row_of(cluster, jobid) is None and row_of(cluster, paused) is None
    with pytest.raises(DatabaseError, match="no longer exists"):
        await delete_job(db, jobid)
    await db.close()


async def test_create_refuses_a_duplicate_name(cluster: Cluster,
                                               make_job: Callable[..., int]) -> None:
    jobid = make_job("select 'original'")
    before = row_of(cluster, jobid)
    count = job_count(cluster)
    db = db_for(cluster)
    with pytest.raises(DatabaseError, match="already has a job named") as info:
        await create_job(db, name=before[0], schedule="* * * * *",  # type: ignore[index]
                         command="select 'overwritten'")
    assert f"#{jobid}" in str(info.value)
    assert row_of(cluster, jobid) == before and job_count(cluster) == count
    await db.close()


@pytest.mark.parametrize(("fields", "error"), [
    ({"name": ""}, "job name is empty"),
    ({"name": "n" * 201}, "limit is 200"),
    ({"command": " "}, "command is empty"),
    ({"command": "x" * 100_001}, "limit is 100,000"),
    ({"schedule": "0 25 * * *"}, "invalid schedule: 0 25"),
    ({"database": "no_such_db"}, "database 'no_such_db' does not exist"),
    ({"username": "no_such_role"}, "role 'no_such_role' does not exist"),
], ids=["empty-name", "long-name", "empty-command", "long-command", "schedule", "database",
        "role"])
async def test_refused_create_writes_nothing(cluster: Cluster, fields: dict[str, str],
                                            error: str) -> None:
    args: dict[str, Any] = {"name": unique(), "schedule": NEVER, "command": "select 1"}
    args.update(fields)
    count = job_count(cluster)
    db = db_for(cluster)
    with pytest.raises(DatabaseError, match=error) as info:
        await create_job(db, **args)
    assert "nothing was saved" in str(info.value)
    assert job_count(cluster) == count
    await db.close()


@pytest.fixture
def other_db(cluster: Cluster) -> Iterator[str]:
    name = unique("db").replace("-", "_")
    cluster.sql(f'create database "{name}"')
    yield name
    cluster.sql("select cron.unschedule(jobid) from cron.job where database = %s", [name])
    cluster.sql(f'drop database "{name}"')


async def test_create_and_run_in_another_database(cluster: Cluster,
                                                  make_role: Callable[..., str],
                                                  other_db: str) -> None:
    # make_role before other_db: the database goes first, then the role with its grants.
    role = make_role()
    db = db_for(cluster)
    name = unique()
    command = ("create table public.ran_here as "
               "select current_database() as db, current_user as who")
    jobid = await create_job(db, name=name, schedule=NEVER, command=command,
                             database=other_db, username=role)
    assert row_of(cluster, jobid) == (name, NEVER, command, other_db, role, True)
    # PostgreSQL 15+ no longer lets every role create in schema public.
    with psycopg.connect(cluster.sandbox.conninfo(dbname=other_db), autocommit=True) as conn:
        conn.execute(f'grant create on schema public to "{role}"')
    run = await trigger(db, await get_job(db, jobid))
    assert run.status == "succeeded", run.message
    assert run.message == "manual run by postgres: SELECT 1"  # CREATE TABLE AS: its tag
    with psycopg.connect(cluster.sandbox.conninfo(dbname=other_db), autocommit=True) as conn:
        assert conn.execute("select db, who from public.ran_here").fetchall() == [
            (other_db, role)]
        conn.execute("drop table public.ran_here")
    await db.close()


# -- trigger ------------------------------------------------------------------------------


async def test_trigger_records_a_run(cluster: Cluster, make_job: Callable[..., int],
                                     probe: str) -> None:
    jobid = make_job(probe_command(probe))
    db = db_for(cluster)
    run = await trigger(db, await get_job(db, jobid))
    await db.close()
    assert run.status == "succeeded" and run.recorded and run.runid is not None
    assert run.message == "manual run by postgres: INSERT 0 1"
    row = run_row(cluster, run.runid)
    assert row["jobid"] == jobid and row["status"] == "succeeded"
    assert row["return_message"] == "manual run by postgres: INSERT 0 1"
    assert row["username"] == "postgres" and row["database"] == "postgres"
    assert row["end_time"] is not None and row["end_time"] >= row["start_time"]
    assert (run.start_time, run.end_time) == (row["start_time"], row["end_time"])
    # job_pid is the backend that really ran the command.
    (who, pid), = cluster.sql("select who, pid from public.act_probe where tag = %s", [probe])
    assert who == "postgres" and row["job_pid"] == pid == run.pid


async def test_trigger_of_a_failing_command(cluster: Cluster,
                                            make_job: Callable[..., int]) -> None:
    jobid = make_job("select 1/0")
    db = db_for(cluster)
    run = await trigger(db, await get_job(db, jobid))
    await db.close()
    assert run.status == "failed" and run.message == ("manual run by postgres: "
                                                  "ERROR:  division by zero")
    row = run_row(cluster, run.runid)  # type: ignore[arg-type]
    assert (row["status"], row["return_message"]) == ("failed", run.message)
    assert row["end_time"] is not None


async def test_trigger_runs_vacuum_and_multi_statement_commands(
        cluster: Cluster, make_job: Callable[..., int]) -> None:
    db = db_for(cluster)
    vacuum = await trigger(db, await get_job(db, make_job("VACUUM public.usage_events")))
    assert vacuum.status == "succeeded", vacuum.message
    assert vacuum.message == "manual run by postgres: VACUUM"
    # A % is not a placeholder; the last statement's status is reported, as pg_cron does.
    multi = await trigger(db, await get_job(db, make_job("select '100%'; select 1 union all "
                                                         "select 2")))
    assert multi.status == "succeeded" and multi.message == "manual run by postgres: 2 rows"
    await db.close()


async def test_trigger_runs_as_the_jobs_role(cluster: Cluster, make_job: Callable[..., int],
                                             make_role: Callable[..., str], probe: str) -> None:
    role = make_role()
    jobid = make_job(probe_command(probe), username=role)
    db = db_for(cluster)
    run = await trigger(db, await get_job(db, jobid))
    await db.close()
    assert run.status == "succeeded", run.message
    # Logged in as the job's role, as pg_cron does (the sandbox trusts local logins).
    assert (run.user, run.role, run.recorded) == (role, role, True)
    assert cluster.sql("select who from public.act_probe where tag = %s", [probe]) == [(role,)]
    assert run_row(cluster, run.runid)["username"] == role  # type: ignore[arg-type]


async def test_trigger_without_set_role_needs_confirmation(
        cluster: Cluster, make_job: Callable[..., int], make_role: Callable[..., str],
        probe: str) -> None:
    owner, operator = make_role(password=False), make_role()
    # It sees every job (as Supabase's role does), so the run reads the job fresh.
    cluster.sql(f'alter role "{operator}" bypassrls')
    require_password(cluster, owner)
    jobid = make_job(probe_command(probe), username=owner)
    runs_before = cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                                [jobid])
    admin = db_for(cluster)
    job = await get_job(admin, jobid)
    await admin.close()
    db = db_for(cluster, user=operator)
    with pytest.raises(NeedsConfirmation) as info:
        await trigger(db, job)
    assert (info.value.role, info.value.user) == (owner, operator)
    assert not info.value.can_set_role
    assert cluster.sql("select who from public.act_probe where tag = %s", [probe]) == []
    # Confirmed: it runs as the operator, and this role may not write the run history.
    run = await trigger(db, job, as_self=True)
    await db.close()
    assert run.status == "succeeded", run.message
    assert (run.recorded, run.runid, run.role) == (False, None, operator)
    assert run.start_time is not None and run.end_time is not None
    assert cluster.sql("select who from public.act_probe where tag = %s", [probe]) == [
        (operator,)]
    assert cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                         [jobid]) == runs_before


def require_password(cluster: Cluster, role: str) -> None:
    """Make the server refuse password-less logins as `role` over TCP, as production does."""
    hba = cluster.sandbox.host_datadir / "pg_hba.conf"
    hba.write_text(f"host all {role} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    cluster.sql("select pg_reload_conf()")


async def test_trigger_with_set_role_still_asks(cluster: Cluster, make_job: Callable[..., int],
                                                make_role: Callable[..., str],
                                                probe: str) -> None:
    """SET ROLE is no boundary (the command may RESET ROLE), so it is never silent."""
    owner = make_role(password=False)
    require_password(cluster, owner)
    jobid = make_job(probe_command(probe), username=owner)
    db = db_for(cluster)
    job = await get_job(db, jobid)
    with pytest.raises(NeedsConfirmation) as info:
        await trigger(db, job)
    assert info.value.can_set_role and "could undo that" in str(info.value)
    assert cluster.sql("select who from public.act_probe where tag = %s", [probe]) == []
    run = await trigger(db, job, as_self=True)
    await db.close()
    assert (run.status, run.user, run.role, run.via_set_role) == (
        "succeeded", "postgres", owner, True)
    assert cluster.sql("select who from public.act_probe where tag = %s", [probe]) == [(owner,)]


async def test_cancel_a_running_trigger(cluster: Cluster, make_job: Callable[..., int]) -> None:
    jobid = make_job("select pg_sleep(30)")
    db = db_for(cluster)
    run = TriggerRun(db, await get_job(db, jobid))
    task = asyncio.create_task(run.run())
    for _ in range(200):
        if run.pid and cluster.value(
                "select state = 'active' and query like '%%pg_sleep%%' from pg_stat_activity "
                "where pid = %s", [run.pid]):
            break
        await asyncio.sleep(0.05)
    assert run.status == "running"
    assert run_row(cluster, run.runid)["status"] == "running"  # type: ignore[arg-type]
    await run.cancel()
    await asyncio.wait_for(task, 25)  # well before pg_sleep(30) would end by itself
    await db.close()
    assert run.status == "failed" and run.message == "manual run by postgres: job canceled"
    row = run_row(cluster, run.runid)  # type: ignore[arg-type]
    assert row["status"] == "failed" and "job canceled" in row["return_message"]
    assert row["end_time"] is not None


async def test_cancelled_worker_stops_the_statement(cluster: Cluster,
                                                    make_job: Callable[..., int]) -> None:
    """The app quitting mid-run cancels the worker task: the server must stop too."""
    jobid = make_job("select pg_sleep(30)")
    db = db_for(cluster)
    run = TriggerRun(db, await get_job(db, jobid))
    task = asyncio.create_task(run.run())
    for _ in range(200):
        if run.status == "running":
            break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.close()
    row = run_row(cluster, run.runid)  # type: ignore[arg-type]
    assert row["status"] == "failed" and "job canceled" in row["return_message"]
    for _ in range(40):  # the backend ends its statement, then its session
        if not cluster.value("select count(*) from pg_stat_activity where pid = %s "
                             "and state = 'active'", [run.pid]):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the statement kept running on the server")


async def test_trigger_statement_timeout(cluster: Cluster, make_job: Callable[..., int]) -> None:
    jobid = make_job("select pg_sleep(5)")
    db = db_for(cluster)
    run = await trigger(db, await get_job(db, jobid), timeout_ms=300)
    await db.close()
    assert run.status == "failed" and "statement timeout" in (run.message or "")


# -- a safer "run now" (issue 12, item 8) --------------------------------------------------


def wait_until(condition: Callable[[], Any], timeout: float = 70) -> None:
    import time

    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {condition}")
        time.sleep(0.1)


async def wait_running(cluster: Cluster, run: TriggerRun) -> None:
    """Until the run's command is executing on its backend."""
    for _ in range(400):
        if run.pid and cluster.value(
                "select state = 'active' and query like '%%pg_sleep%%' from pg_stat_activity "
                "where pid = %s", [run.pid]):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run never started")


async def test_run_reads_the_job_fresh(cluster: Cluster, make_job: Callable[..., int],
                                       probe: str) -> None:
    jobid = make_job("select 'as it was on screen'")
    db = db_for(cluster)
    on_screen = await get_job(db, jobid)
    cluster.sql("select cron.alter_job(%s, command := %s)", [jobid, probe_command(probe)])
    plan = await plan_run(db, jobid)
    assert plan.job.command == probe_command(probe) and plan.target.host is None
    assert plan.in_progress == []
    # The object cached on screen is never run: its command changed meanwhile.
    before = cluster.value("select count(*) from cron.job_run_details where jobid = %s", [jobid])
    with pytest.raises(JobChanged, match="nothing was run"):
        await trigger(db, on_screen)
    assert cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                         [jobid]) == before
    run = await trigger(db, plan.job, target=plan.target)
    await db.close()
    assert run.status == "succeeded", run.message
    assert cluster.sql("select count(*) from public.act_probe where tag = %s", [probe]) == [(1,)]


async def test_no_hidden_floor_and_the_operators_limit(cluster: Cluster,
                                                       make_job: Callable[..., int]) -> None:
    # The app's own statement timeout (here 300 ms) is not the run's: a run takes its time.
    db = db_for(cluster, statement_timeout_ms=300)
    long = await get_job(db, make_job("select pg_sleep(1.5)"))
    run = await trigger(db, long)
    assert run.status == "succeeded", run.message
    # A limit chosen by the operator applies, exactly, and the message says it was theirs.
    run = await trigger(db, long, timeout_ms=400)
    await db.close()
    assert run.status == "failed"
    assert "statement timeout" in (run.message or "") and "0.4 s limit" in (run.message or "")
    row = run_row(cluster, run.runid)  # type: ignore[arg-type]
    assert row["status"] == "failed" and row["end_time"] is not None


async def test_the_servers_own_timeout_applies(cluster: Cluster, other_db: str) -> None:
    # A DBA's per-database statement_timeout binds pg_cron's runs, so it binds ours.
    cluster.sql(f'alter database "{other_db}" set statement_timeout = 300')
    jobid = cluster.value("select cron.schedule_in_database(%s, %s, 'select pg_sleep(2)', %s)",
                          [unique(), NEVER, other_db])
    db = db_for(cluster)
    run = await trigger(db, await get_job(db, jobid))
    await db.close()
    assert run.status == "failed" and "statement timeout" in (run.message or "")
    assert "limit" not in (run.message or "")


async def test_a_run_in_progress_is_found_and_named(cluster: Cluster,
                                                    make_job: Callable[..., int]) -> None:
    jobid = make_job("select pg_sleep(30)")
    db = db_for(cluster)
    first = TriggerRun(db, await get_job(db, jobid))
    task = asyncio.create_task(first.run())
    await wait_running(cluster, first)
    other = db_for(cluster)
    plan = await plan_run(other, jobid)
    assert [r.runid for r in plan.running] == [first.runid]
    going = plan.running[0]
    assert going.manual and going.alive and going.job_pid == first.pid
    assert f"#{first.runid}" in going.describe() and "running for" in going.describe()
    await first.cancel()
    await asyncio.wait_for(task, 25)
    assert (await plan_run(other, jobid)).running == []
    await other.close()
    await db.close()


async def test_abort_records_the_run_failed(cluster: Cluster,
                                            make_job: Callable[..., int]) -> None:
    """A hang-up or quit mid-run: cancelled on the server, never left 'running'."""
    jobid = make_job("select pg_sleep(30)")
    db = db_for(cluster)
    run = TriggerRun(db, await get_job(db, jobid))
    task = asyncio.create_task(run.run())
    await wait_running(cluster, run)
    await run.abort("the terminal hung up")
    await asyncio.wait_for(task, 25)
    await db.close()
    row = run_row(cluster, run.runid)  # type: ignore[arg-type]
    assert row["status"] == "failed" and row["end_time"] is not None
    assert row["return_message"] == ("manual run by postgres: job canceled "
                                     "(the terminal hung up)")
    assert not cluster.value("select count(*) from pg_stat_activity where pid = %s "
                             "and state = 'active'", [run.pid])


async def test_run_goes_where_pg_cron_would(cluster: Cluster, fresh_cluster: Cluster,
                                            make_job: Callable[..., int], probe: str,
                                            tmp_path: Path) -> None:
    """A job stored for another node (another server on the scheduler's host) runs there."""
    from psycopg.conninfo import make_conninfo

    fresh_cluster.sql("create table public.act_probe (tag text, who text, pid int, db text)")
    # The operator's .pgpass knows both servers, as it would.
    passfile = tmp_path / "pgpass"
    passfile.write_text(
        f"127.0.0.1:{fresh_cluster.sandbox.port}:*:postgres:{fresh_cluster.sandbox.password}\n"
        f"127.0.0.1:*:*:postgres:{cluster.sandbox.password}\n")
    passfile.chmod(0o600)
    jobid = make_job(probe_command(probe))
    cluster.sql("update cron.job set nodename = '127.0.0.1', nodeport = %s where jobid = %s",
                [fresh_cluster.sandbox.port, jobid])
    db = Database(ConnectOptions(dbname=make_conninfo(cluster.conninfo, passfile=str(passfile))))
    plan = await plan_run(db, jobid)
    assert (plan.target.host, plan.target.port) == ("127.0.0.1", fresh_cluster.sandbox.port)
    run = await trigger(db, plan.job, target=plan.target)
    assert run.status == "succeeded", run.message
    assert fresh_cluster.value("select count(*) from public.act_probe where tag = %s",
                               [probe]) == 1
    assert cluster.value("select count(*) from public.act_probe where tag = %s", [probe]) == 0
    assert run_row(cluster, run.runid)["status"] == "succeeded"  # type: ignore[arg-type]
    # Nobody listens there: refused with the reason, nothing run, nothing recorded.
    from tui.lab.sandbox import free_port

    cluster.sql("update cron.job set nodeport = %s where jobid = %s", [free_port(), jobid])
    before = cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                           [jobid])
    plan = await plan_run(db, jobid)
    with pytest.raises(DatabaseError, match="could not connect .* nothing was run"):
        await trigger(db, plan.job, target=plan.target)
    await db.close()
    assert cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                         [jobid]) == before


async def test_where_it_runs_unknown_is_refused(cluster: Cluster, supabase_role: Role) -> None:
    """A role that may not read cron.use_background_workers cannot know where a job stored
    for another port runs: refused with the reason, never guessed."""
    from tui.lab.sandbox import free_port

    jobid = cluster.value("select cron.schedule_in_database(%s, %s, 'select 1', 'postgres', %s)",
                          [unique(), NEVER, supabase_role.name])
    try:
        cluster.sql("update cron.job set nodeport = %s where jobid = %s", [free_port(), jobid])
        db = Database(ConnectOptions(dbname=supabase_role.conninfo()))
        with pytest.raises(DatabaseError, match="pg_read_all_settings"):
            await plan_run(db, jobid)
        await db.close()
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])


# -- x: cancelling pg_cron's own run (issue 18, item 3) --------------------------------------


@pytest.mark.realtime  # pg_cron 1.4 starts it on the next minute
async def test_cancel_pg_cron_s_own_run(cluster: Cluster, make_job: Callable[..., int],
                                        supabase_role: Role) -> None:
    every = "1 seconds" if cluster.pg_cron == "1.6" else "* * * * *"
    jobid = make_job("select pg_sleep(120)", schedule=every)
    db = db_for(cluster)
    await asyncio.to_thread(wait_until, lambda: cluster.value(
        "select count(*) from cron.job_run_details where jobid = %s and status = 'running'",
        [jobid]))
    going: list[RunInProgress] = [r for r in await runs_in_progress(db, jobid) if r.alive]
    run = going[0]
    assert not run.manual and run.job_pid and "pg_cron's run" in run.describe()
    # A role without the privilege is told which one it lacks; nothing is cancelled.
    other = Database(ConnectOptions(dbname=supabase_role.conninfo()))
    with pytest.raises(DatabaseError, match="only a superuser may cancel") as info:
        await cancel_run(other, run)
    assert "may not cancel run" in refusal(info.value)
    await other.close()
    assert run_row(cluster, run.runid)["status"] == "running"
    outcome = await cancel_run(db, run)
    assert outcome.cancelled and f"#{run.runid}" in outcome.message
    cluster.sql("select cron.alter_job(%s, active := false)", [jobid])  # no next run
    await asyncio.to_thread(wait_until, lambda: run_row(cluster, run.runid)["status"] == "failed",
                            20)
    assert "cancel" in run_row(cluster, run.runid)["return_message"]
    # Gone now: nothing to cancel, said so.
    again = await cancel_run(db, run)
    assert not again.cancelled and "gone" in again.message
    await db.close()


# -- refusals (issue 21, item 1): each for real; nothing written half-way --------------------


async def every_write(db: Database, admin: Database, jobid: int
                      ) -> dict[str, BaseException]:
    """Each write action once against `db` (the job read through `admin`); what each
    raised."""
    raised: dict[str, BaseException] = {}
    loaded = await get_job(admin, jobid)
    attempts = {
        "pause": lambda: set_active(db, jobid, False),
        "resume": lambda: set_active(db, jobid, True),
        "edit": lambda: edit_job(db, loaded, command="select 'edited'"),
        "create": lambda: create_job(db, name=unique(), schedule=NEVER, command="select 1"),
        "delete": lambda: delete_job(db, jobid),
        "trigger": lambda: trigger(db, loaded),
        "plan run": lambda: plan_run(db, jobid),
    }
    for name, attempt in attempts.items():
        try:
            await attempt()
        except DatabaseError as exc:
            raised[name] = exc
    return raised


async def assert_all_refused(cluster: Cluster, db: Database, admin: Database, jobid: int,
                             reason: str) -> None:
    before = row_of(cluster, jobid)
    jobs_before = job_count(cluster)
    runs_before = cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                                [jobid])
    raised = await every_write(db, admin, jobid)
    assert set(raised) == {"pause", "resume", "edit", "create", "delete", "trigger",
                           "plan run"}, raised
    for name, exc in raised.items():
        sentence = refusal(exc)
        assert reason in sentence, (name, sentence)
        assert "\n" not in sentence
    assert row_of(cluster, jobid) == before  # the delete above never reached unschedule
    assert job_count(cluster) == jobs_before
    assert cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                         [jobid]) == runs_before


async def test_read_only_role_is_refused_everything(cluster: Cluster, read_only_role: Role,
                                                    make_job: Callable[..., int]) -> None:
    jobid = make_job(username=read_only_role.name)
    db = Database(ConnectOptions(dbname=read_only_role.conninfo()))
    admin = db_for(cluster)
    await assert_all_refused(cluster, db, admin, jobid, "read-only at the server")
    await db.close()
    await admin.close()


async def test_read_only_mode_is_refused_before_the_server(
        cluster: Cluster, make_job: Callable[..., int]) -> None:
    jobid = make_job()
    db = db_for(cluster, read_only=True)
    admin = db_for(cluster)
    await assert_all_refused(cluster, db, admin, jobid, "read-only mode")
    await db.close()
    await admin.close()


async def test_read_only_session_through_the_pooler(cluster: Cluster, pooler: Pooler,
                                                    read_only_role: Role,
                                                    make_job: Callable[..., int]) -> None:
    jobid = make_job(username=read_only_role.name)
    db = Database(ConnectOptions(dbname=read_only_role.via(pooler)))
    admin = db_for(cluster)
    await assert_all_refused(cluster, db, admin, jobid, "read-only at the server")
    await db.close()
    await admin.close()


async def test_standby_is_refused_everything(cluster: Cluster, standby: Standby,
                                             make_job: Callable[..., int]) -> None:
    jobid = make_job()
    standby.wait_for("select exists (select 1 from cron.job where jobid = %s)", [jobid])
    db = Database(ConnectOptions(dbname=standby.conninfo))
    admin = Database(ConnectOptions(dbname=standby.conninfo))
    await assert_all_refused(cluster, db, admin, jobid, "standby")
    await db.close()
    await admin.close()


async def test_missing_privilege(cluster: Cluster, make_job: Callable[..., int],
                                 make_role: Callable[..., str]) -> None:
    """A role with USAGE on cron only: pg_cron's own refusals, said with what to do."""
    role = make_role()
    jobid = make_job()  # postgres's job: invisible to the role under row-level security
    own = make_job(username=role)
    db = db_for(cluster, user=role)
    before = row_of(cluster, own)
    with pytest.raises(DatabaseError) as info:
        await set_active(db, own, False)  # alter_job: EXECUTE revoked from PUBLIC
    assert "grant execute on function cron.alter_job" in refusal(info.value)
    assert row_of(cluster, own) == before
    # Another role's job: hidden by row-level security (1.6) or refused (1.4).
    with pytest.raises(DatabaseError) as info:
        await delete_job(db, jobid)
    assert "no longer exists" in str(info.value) or "ask a superuser" in refusal(info.value)
    assert row_of(cluster, jobid) is not None
    await db.close()


@pytest.fixture
def locked_job(cluster: Cluster, make_job: Callable[..., int]) -> Iterator[int]:
    """A job whose row another session keeps locked (an editor's open transaction)."""
    jobid = make_job()
    with psycopg.connect(cluster.conninfo) as locker:
        locker.execute("select * from cron.job where jobid = %s for update", [jobid])
        yield jobid
        locker.rollback()


async def test_a_lock_held_past_the_timeout(cluster: Cluster, locked_job: int) -> None:
    db = db_for(cluster, statement_timeout_ms=600)
    before = row_of(cluster, locked_job)
    loaded = await get_job(db, locked_job)
    for attempt in (lambda: set_active(db, locked_job, False),
                    lambda: edit_job(db, loaded, command="select 'edited'"),
                    lambda: delete_job(db, locked_job)):
        with pytest.raises(DatabaseError) as info:
            await attempt()
        assert info.value.sqlstate == "55P03", info.value
        assert "another session holds a lock" in refusal(info.value)
    assert row_of(cluster, locked_job) == before
    # The session is still usable afterwards.
    assert (await get_job(db, locked_job)).jobid == locked_job
    await db.close()


@pytest.fixture
def slow_writes(fresh_cluster: Cluster) -> Iterator[Cluster]:
    """New jobs that take 3 s to write (a trigger standing for a slow or overloaded server;
    cron.schedule inserts through SQL, so it fires), on a cluster of its own."""
    fresh_cluster.sql("create function public.slow() returns trigger language plpgsql as "
                      "$$begin perform pg_sleep(3); return new; end$$")
    fresh_cluster.sql("create trigger slow before insert on cron.job "
                      "for each row execute function public.slow()")
    yield fresh_cluster


def create_in_progress(cluster: Cluster) -> bool:
    return bool(cluster.value(
        "select count(*) from pg_stat_activity where query like '%%cron.schedule%%' "
        "and state = 'active' and pid <> pg_backend_pid()"))


async def test_statement_timeout_mid_write(slow_writes: Cluster) -> None:
    cluster = slow_writes
    count = job_count(cluster)
    db = db_for(cluster, statement_timeout_ms=800)
    with pytest.raises(DatabaseError) as info:
        await create_job(db, name="nightly-slow", schedule=NEVER, command="select 1")
    assert "statement timeout" in refusal(info.value)
    assert "nothing was" in refusal(info.value)
    assert job_count(cluster) == count
    await db.close()


async def test_connection_killed_mid_write(slow_writes: Cluster) -> None:
    cluster = slow_writes
    count = job_count(cluster)
    db = db_for(cluster)
    task = asyncio.create_task(create_job(db, name="killed-create", schedule=NEVER,
                                          command="select 1"))
    await asyncio.to_thread(wait_until, lambda: create_in_progress(cluster), 10)
    cluster.sql("select pg_terminate_backend(pid) from pg_stat_activity "
                "where query like '%%cron.schedule%%' and pid <> pg_backend_pid()")
    with pytest.raises(DatabaseError) as info:
        await task
    assert info.value.lost, info.value
    assert "check the job's state" in refusal(info.value)
    assert job_count(cluster) == count
    # A pause waiting on a row another session holds, killed while it waits.
    jobid = cluster.value("select cron.schedule('killed-pause', %s, 'select 1')", [NEVER])
    slow = db_for(cluster, statement_timeout_ms=30_000)
    with psycopg.connect(cluster.conninfo) as locker:
        locker.execute("select * from cron.job where jobid = %s for update", [jobid])
        task = asyncio.create_task(set_active(slow, jobid, False))
        await asyncio.to_thread(wait_until, lambda: cluster.value(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' "
            "and query like '%%for update%%'"), 10)
        cluster.sql("select pg_terminate_backend(pid) from pg_stat_activity "
                    "where wait_event_type = 'Lock' and query like '%%for update%%'")
        with pytest.raises(DatabaseError) as info:
            await task
        locker.rollback()
    assert info.value.lost and row_of(cluster, jobid)[5] is True  # type: ignore[index]
    # The next action reconnects by itself.
    assert (await set_active(slow, jobid, False)).active is False
    await slow.close()
    await db.close()


async def test_run_killed_mid_run_is_recorded_failed(cluster: Cluster,
                                                     make_job: Callable[..., int]) -> None:
    jobid = make_job("select pg_sleep(30)")
    db = db_for(cluster)
    run = TriggerRun(db, await get_job(db, jobid))
    task = asyncio.create_task(run.run())
    await wait_running(cluster, run)
    cluster.sql("select pg_terminate_backend(%s)", [run.pid])
    await asyncio.wait_for(task, 25)
    await db.close()
    row = run_row(cluster, run.runid)  # type: ignore[arg-type]
    assert row["status"] == "failed" and row["end_time"] is not None
    assert "connection lost" in row["return_message"]


async def test_server_restarted_mid_write(slow_writes: Cluster) -> None:
    cluster = slow_writes
    count = job_count(cluster)
    db = db_for(cluster)
    task = asyncio.create_task(create_job(db, name="restarted-create", schedule=NEVER,
                                          command="select 1"))
    await asyncio.to_thread(wait_until, lambda: create_in_progress(cluster), 10)
    await asyncio.to_thread(cluster.sandbox.stop)
    with pytest.raises(DatabaseError) as info:
        await task
    await asyncio.to_thread(cluster.sandbox.start)
    await asyncio.to_thread(cluster.sandbox.wait_ready)
    assert info.value.lost and "check the job's state" in refusal(info.value)
    assert job_count(cluster) == count
    # Back: the same session object works again.
    jobid = await create_job(db, name="after-restart", schedule=NEVER, command="select 1")
    assert row_of(cluster, jobid) is not None
    await db.close()


async def test_cancel_names_pg_signal_backend(cluster: Cluster,
                                              make_role: Callable[..., str]) -> None:
    """Another (non-superuser) role's run: refused without pg_signal_backend, which is named;
    granted, the run's statement is cancelled."""
    import threading
    from datetime import datetime, timezone

    owner, operator = make_role(), make_role()
    cluster.sql(f'alter role "{operator}" bypassrls')
    with psycopg.connect(db_for(cluster, user=owner).opts.conninfo(), autocommit=True) as busy:
        pid = busy.info.backend_pid
        outcome: list[BaseException] = []

        def sleep() -> None:
            try:
                busy.execute("select pg_sleep(30)")
            except psycopg.Error as exc:
                outcome.append(exc)

        worker = threading.Thread(target=sleep)
        worker.start()
        await asyncio.to_thread(wait_until, lambda: cluster.value(
            "select state = 'active' from pg_stat_activity where pid = %s", [pid]), 10)
        run = RunInProgress(runid=0, jobid=0, job_pid=pid, status="running",
                            start_time=datetime.now(timezone.utc), username=owner,
                            database="postgres", return_message=None, age=None, alive=True)
        db = db_for(cluster, user=operator)
        with pytest.raises(DatabaseError) as info:
            await cancel_run(db, run)
        assert "pg_signal_backend" in refusal(info.value)
        assert cluster.value("select state from pg_stat_activity where pid = %s",
                             [pid]) == "active"
        cluster.sql(f'grant pg_signal_backend to "{operator}"')
        assert (await cancel_run(db, run)).cancelled
        await db.close()
        await asyncio.to_thread(worker.join, 20)
    assert outcome and isinstance(outcome[0], psycopg.errors.QueryCanceled)


async def test_run_through_the_pooler(cluster: Cluster, pooler: Pooler,
                                      make_job: Callable[..., int], probe: str) -> None:
    """Through PgBouncer in transaction mode: a run with no limit works; a limit, which would
    be a session setting there, is refused rather than leaked into the pool or dropped."""
    jobid = make_job(probe_command(probe))
    db = Database(ConnectOptions(dbname=pooler.conninfo()))
    plan = await plan_run(db, jobid)
    run = await trigger(db, plan.job, target=plan.target)
    assert run.status == "succeeded", run.message
    assert cluster.value("select count(*) from public.act_probe where tag = %s", [probe]) == 1
    try:
        limited = await trigger(db, plan.job, target=plan.target, timeout_ms=60_000)
    except DatabaseError as exc:  # PgBouncer without "options" support: said, nothing run
        assert "startup options" in str(exc) and "nothing was run" in str(exc)
    else:  # a pooler that passes startup options on: the limit is the connection's own
        assert limited.status == "succeeded", limited.message
    assert pooler.show_all("statement_timeout") == {"0"}
    await db.close()


async def test_set_role_run_through_the_pooler(cluster: Cluster, pooler: Pooler,
                                               make_job: Callable[..., int],
                                               make_role: Callable[..., str],
                                               probe: str) -> None:
    """A run that takes on the job's role with SET ROLE (the role cannot log in here) runs
    the command as that role, and leaves no role behind on the pool's server connections:
    a session-level SET ROLE could run the command as the operator on another server
    connection and hand the role to the pool's next client."""
    owner = make_role(password=False)  # no password in the passfile: the pooler refuses it
    jobid = make_job(probe_command(probe), username=owner)
    db = Database(ConnectOptions(dbname=pooler.conninfo()))
    plan = await plan_run(db, jobid)
    with pytest.raises(NeedsConfirmation) as info:
        await trigger(db, plan.job, target=plan.target)
    assert info.value.can_set_role
    assert pooler.show_all("role") == {"none"}
    run = await trigger(db, plan.job, target=plan.target, as_self=True)
    await db.close()
    assert (run.status, run.role, run.via_set_role) == ("succeeded", owner, True), run.message
    assert cluster.sql("select who from public.act_probe where tag = %s", [probe]) == [(owner,)]
    assert pooler.show_all("role") == {"none"}


async def test_set_role_http_evaluation_through_the_pooler(
        pooler: Pooler, make_job: Callable[..., int], make_role: Callable[..., str]) -> None:
    """An HTTP job's arguments are evaluated in the same session as the job's role as a manual
    run (tui.db.as_role): refused without a yes, with the same refusal, then evaluated with
    SET LOCAL ROLE inside the evaluation's own transaction, so no role stays behind on the
    pool's server connections."""
    owner = make_role(password=False)  # no password in the passfile: the pooler refuses it
    jobid = make_job("select net.http_get(url := 'https://hooks.example.com/v1/ping?from=' "
                     "|| current_user)", username=owner)
    db = Database(ConnectOptions(dbname=pooler.conninfo()))
    job = await get_job(db, jobid)
    with pytest.raises(NeedsConfirmation) as info:
        await http.evaluate(db, job)
    assert info.value.can_set_role and "to evaluate the HTTP call of job" in str(info.value)
    assert pooler.show_all("role") == {"none"}
    request = await http.evaluate(db, job, as_self=True)
    await db.close()
    assert request.url == f"https://hooks.example.com/v1/ping?from={owner}"
    assert request.source.endswith(f"as {owner} (via SET ROLE by postgres)")
    assert pooler.show_all("role") == {"none"}
