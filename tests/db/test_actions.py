"""The operator's actions against a real pg_cron: what the database holds afterwards, and that
a refused action leaves it exactly as it was."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest

from tests.conftest import Cluster
from tui.db import ConnectOptions, Database, DatabaseError
from tui.db.actions import (
    CHECK_PREFIX,
    JobChanged,
    NeedsConfirmation,
    TriggerRun,
    check_schedule,
    create_job,
    delete_job,
    edit_job,
    get_job,
    set_active,
    trigger,
)

#: Far from any test run: the real scheduler must not fire these jobs meanwhile.
NEVER = "0 0 1 1 *"

ROW = "select jobname, schedule, command, database, username, active from cron.job "


def db_for(cluster: Cluster, user: str = "postgres", **kw: Any) -> Database:
    return Database(ConnectOptions(dbname=cluster.sandbox.conninfo(user=user), **kw))


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
def make_role(cluster: Cluster) -> Iterator[Callable[[], str]]:
    """Login roles of their own (roles are cluster-wide, the cluster is shared)."""
    made: list[str] = []

    def make() -> str:
        name = unique("r").replace("-", "_")
        cluster.sql(f'create role "{name}" login')
        cluster.sql(f'grant usage on schema cron to "{name}"')
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
                                                make_role: Callable[[], str]) -> None:
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
                                                  make_role: Callable[[], str],
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
    assert run.status == "failed" and run.message == "manual run by postgres: division by zero"
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
                                             make_role: Callable[[], str], probe: str) -> None:
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
        cluster: Cluster, make_job: Callable[..., int], make_role: Callable[[], str],
        probe: str) -> None:
    owner, operator = make_role(), make_role()
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
                                                make_role: Callable[[], str],
                                                probe: str) -> None:
    """SET ROLE is no boundary (the command may RESET ROLE), so it is never silent."""
    owner = make_role()
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
