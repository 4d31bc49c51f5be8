"""Writes to pg_cron's jobs: check a schedule, pause, edit, create and delete a job, and the
reads they rest on. Each call has a deadline; every failure is a DatabaseError fit to show.

Writes go through pg_cron's own functions (schedule, alter_job, unschedule), never straight
into cron.job, so its checks and its scheduler's cache invalidation apply.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tui.db.client import LOOKBACK_RUNS, Database, DatabaseError
from tui.db.queries import query
from tui.db.release import crash_refusal, may_crash, overflows_set_range
from tui.models import Job

#: Longest job name and command accepted. cron.job stores `text`, but a name is a label on a
#: screen and a command of this size is a pasted file, not a job.
MAX_NAME = 200
MAX_COMMAND = 100_000

#: Fields compared between the job the operator saw and the row as it is now.
COMPARED = ("jobname", "schedule", "command", "database", "username", "active")

#: Throwaway job names used by check_schedule start with this.
CHECK_PREFIX = "cronjobs-tui-check-"

#: pg_cron raises invalid schedules with this SQLSTATE (22023, invalid_parameter_value).
INVALID_PARAMETER = "22023"
INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY_TRANSACTION = "25006"


class JobChanged(DatabaseError):
    """The job's row differs from the one the operator edited: nothing was written."""

    def __init__(self, jobid: int, changes: list[tuple[str, Any, Any]], *,
                 did: str = "nothing was saved: reload it and edit again"):
        listed = "; ".join(f"{name}: {old!r} is now {new!r}" for name, old, new in changes)
        super().__init__(f"job #{jobid} was changed by someone else since it was loaded "
                         f"({listed}); {did}")
        self.jobid = jobid
        self.changes = changes


async def fetch_rows(conn: psycopg.AsyncConnection, name: str,
                     params: dict[str, Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query(name), params)
        return await cur.fetchall() if cur.description else []


def server_message(exc: psycopg.Error) -> str:
    """The server's message with its HINT, as psql would show both."""
    primary = exc.diag.message_primary or str(exc)
    return f"{primary} ({exc.diag.message_hint})" if exc.diag.message_hint else primary


class ReadOnly(DatabaseError):
    """This session may not write: refused by us before anything was sent."""

    def __init__(self, reason: str):
        super().__init__(f"{reason}; nothing was changed", sqlstate=READ_ONLY_TRANSACTION)


def refuse_read_only_mode(db: Database) -> None:
    if db.opts.read_only:
        raise ReadOnly("read-only mode (--read-only, the config or a prod profile): start "
                       "without it to change jobs")


async def _begin_write(db: Database, conn: psycopg.AsyncConnection) -> None:
    """First statement inside every write transaction: refuse a read-only session ourselves
    (pg_cron's unschedule deletes even in a READ ONLY transaction) and bound lock waits. What
    was read of the jobs may be stale from here (JobsTracker reads them in full next time)."""
    await _may_write(db, conn)
    db.writes += 1


async def _may_write(db: Database, conn: psycopg.AsyncConnection) -> None:
    refuse_read_only_mode(db)
    # A lock held by another session (an open transaction, a stuck editor) is reported
    # as such, before the statement timeout would end the wait with a vaguer message.
    _refuse_read_only_server(await fetch_rows(conn, "action_begin",
                                              {"lock_timeout": _lock_wait(db)}))


def _lock_wait(db: Database) -> str:
    return f"{max(db.opts.statement_timeout_ms * 3 // 5, 50)}ms"


async def writable_job(db: Database, jobid: int,
                       *more: tuple[str, dict[str, Any] | None],
                       ) -> tuple[Job, list[list[dict[str, Any]]]]:
    """check_writable and get_job in one round trip, with `more` named reads beside them (their
    rows, in order): what a manual run checks before it asks or starts. ReadOnly first, then
    the job gone, as asked one by one."""
    refuse_read_only_mode(db)
    begin, job, *rest = await db.fetch_many([
        ("action_begin", {"lock_timeout": _lock_wait(db)}),
        ("action_job", {"jobid": jobid, "lookback": LOOKBACK_RUNS}), *more])
    _refuse_read_only_server(begin)
    if not job:
        raise _gone(jobid)
    return Job(**job[0]), rest


async def check_writable(db: Database) -> None:
    """ReadOnly unless this session may write (nothing is written to find out): one round
    trip."""
    refuse_read_only_mode(db)
    _refuse_read_only_server(await db.fetch("action_begin", {"lock_timeout": _lock_wait(db)}))


def _refuse_read_only_server(begin: list[dict[str, Any]]) -> None:
    """action_begin.sql's answer: ReadOnly when the server says this session may not write."""
    if begin[0]["read_only_reason"]:
        raise ReadOnly(begin[0]["read_only_reason"])



def _gone(jobid: int) -> DatabaseError:
    # Under row-level security a job of another role looks exactly like a deleted one.
    return DatabaseError(f"job #{jobid} no longer exists (or belongs to a role this login "
                         "may not see)")


def _check_text(what: str, value: str | None, limit: int) -> None:
    if value is None or not value.strip():
        raise DatabaseError(f"the {what} is empty: nothing was saved")
    if len(value) > limit:
        raise DatabaseError(f"the {what} is {len(value):,} characters long; the limit is "
                            f"{limit:,}: nothing was saved")


async def names_context(conn: psycopg.AsyncConnection, database: str | None = None,
                        username: str | None = None) -> dict[str, Any]:
    """current_user, current_database, and whether `database` and `username` exist (a None
    name counts as existing)."""
    (ctx,) = await fetch_rows(conn, "action_context", {"database": database, "username": username})
    return ctx


def missing_names(ctx: dict[str, Any], database: str | None, username: str | None) -> list[str]:
    """Unknown databases and roles (from names_context), each as a plain sentence: pg_cron's
    own checks differ by version."""
    problems = []
    if not ctx["database_exists"]:
        problems.append(f"database {database!r} does not exist on this server")
    if not ctx["role_exists"]:
        problems.append(f"role {username!r} does not exist on this server")
    return problems


async def _check_names(conn: psycopg.AsyncConnection, database: str | None,
                       username: str | None) -> dict[str, Any]:
    """Refuse unknown databases and roles; returns names_context."""
    ctx = await names_context(conn, database, username)
    for problem in missing_names(ctx, database, username):
        raise DatabaseError(f"{problem}: nothing was saved")
    return ctx


# -- reads used by the actions -------------------------------------------------


async def get_job(db: Database, jobid: int) -> Job:
    """The job as it is now (with its latest recent run), or DatabaseError if it is gone."""
    async def work(conn: psycopg.AsyncConnection) -> Job:
        return await fresh_job(conn, jobid)

    return await db.with_connection(work)


async def fresh_job(conn: psycopg.AsyncConnection, jobid: int) -> Job:
    rows = await fetch_rows(conn, "action_job", {"jobid": jobid, "lookback": LOOKBACK_RUNS})
    if not rows:
        raise _gone(jobid)
    return Job(**rows[0])


# -- schedules ------------------------------------------------------------------


async def check_schedule(db: Database, expr: str) -> str | None:
    """None when the server accepts `expr`, else its message (with its HINT).

    The server is the only exact judge of pg_cron's grammar, which differs by version. The
    throwaway job is created inside a transaction that is always rolled back; a valid
    schedule still uses up one value of cron.jobid_seq (sequences ignore rollbacks).
    """
    try:
        await refuse_crashing_schedule(db, expr)  # pg_cron 1.6.0-1.6.4 would die of it
    except DatabaseError as exc:
        return str(exc)
    try:  # one round trip, rolled back
        await db.fetch_many([("action_check_schedule", _throwaway_job(expr))], rollback=True)
    except DatabaseError as exc:
        if exc.sqlstate == INVALID_PARAMETER and isinstance(exc.__cause__, psycopg.Error):
            return server_message(exc.__cause__)
        if exc.sqlstate == READ_ONLY_TRANSACTION:
            # pg_cron parses the schedule before it inserts: a read-only session (ours, or
            # a standby) gets this far only with a valid schedule.
            return None
        raise
    return None


def _throwaway_job(expr: str) -> dict[str, str]:
    """action_check_schedule.sql's parameters: a name that never upserts over a real job."""
    return {"name": f"{CHECK_PREFIX}{uuid.uuid4().hex}", "schedule": expr}


async def judge_schedule(conn: psycopg.AsyncConnection, expr: str) -> str | None:
    """The server's verdict on `expr` on this connection (inside a transaction: a savepoint):
    None, or its message with its HINT. Nothing is left behind."""
    try:
        async with conn.transaction(force_rollback=True):
            await fetch_rows(conn, "action_check_schedule", _throwaway_job(expr))
    except psycopg.Error as exc:
        if exc.sqlstate == INVALID_PARAMETER:
            return server_message(exc)
        raise
    return None


# -- pause / resume / edit -----------------------------------------------------


async def set_active(db: Database, jobid: int, active: bool) -> Job:
    """Pause (active=False) or resume a job. The state is set, never toggled, so a second
    press or a stale screen cannot flip it back."""
    refuse_read_only_mode(db)

    async def work(conn: psycopg.AsyncConnection) -> Job:
        async with conn.transaction():
            await _begin_write(db, conn)
            if not await _locked_job(conn, jobid):
                raise _gone(jobid)
            await fetch_rows(conn, "action_alter_job", alter_params(jobid, active=active))
        return await fresh_job(conn, jobid)

    return await db.with_connection(work)


async def _locked_job(conn: psycopg.AsyncConnection, jobid: int) -> list[dict[str, Any]]:
    """The job's row, locked until the transaction ends (inside one)."""
    try:
        async with conn.transaction():  # a savepoint: a refusal leaves the outer one usable
            return await fetch_rows(conn, "action_job_for_update", {"jobid": jobid})
    except psycopg.errors.InsufficientPrivilege:
        return await fetch_rows(conn, "action_job_advisory_lock", {"jobid": jobid})


def alter_params(jobid: int, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = dict.fromkeys(
        ("schedule", "command", "database", "username", "active"))
    params.update(changes, jobid=jobid)
    return params


async def edit_job(db: Database, loaded: Job, *, schedule: str | None = None,
                   command: str | None = None, database: str | None = None,
                   username: str | None = None) -> Job:
    """Change the given fields of `loaded`'s job, only if nobody changed the job since it was
    loaded (else JobChanged, nothing written). Fields equal to the loaded ones are not sent."""
    if command is not None:
        _check_text("command", command, MAX_COMMAND)
    if schedule is not None and not schedule.strip():
        raise DatabaseError("the schedule is empty: nothing was saved")
    wanted = {"schedule": schedule, "command": command, "database": database,
              "username": username}
    changes = {k: v for k, v in wanted.items() if v is not None and v != getattr(loaded, k)}

    refuse_read_only_mode(db)
    if "schedule" in changes:
        await refuse_crashing_schedule(db, changes["schedule"])

    async def work(conn: psycopg.AsyncConnection) -> Job:
        async with conn.transaction():
            await _begin_write(db, conn)
            rows = await _locked_job(conn, loaded.jobid)
            if not rows:
                raise _gone(loaded.jobid)
            current = rows[0]
            differ = [(k, getattr(loaded, k), current[k]) for k in COMPARED
                      if getattr(loaded, k) != current[k]]
            if differ:
                raise JobChanged(loaded.jobid, differ)
            if changes:
                await _check_names(conn, changes.get("database"), changes.get("username"))
                await fetch_rows(conn, "action_alter_job", alter_params(loaded.jobid, **changes))
        return await fresh_job(conn, loaded.jobid)

    try:
        return await db.with_connection(work)
    except DatabaseError as exc:
        raise _saved_nothing(exc) from exc


def _saved_nothing(exc: DatabaseError) -> DatabaseError:
    """The server's refusals (invalid schedule, permission denied) said plainly: the
    transaction was rolled back, so nothing was written."""
    if exc.lost or type(exc) is not DatabaseError or "nothing was saved" in str(exc):
        return exc
    return DatabaseError(f"{exc}: nothing was saved", sqlstate=exc.sqlstate)


# -- create / delete --------------------------------------------------------------


async def create_job(db: Database, *, name: str, schedule: str, command: str,
                     database: str | None = None, username: str | None = None,
                     active: bool = True) -> int:
    """A new job; returns its jobid. Refuses a name this role already uses, because
    cron.schedule(name, ...) would silently overwrite that job instead."""
    _check_text("job name", name, MAX_NAME)
    _check_text("command", command, MAX_COMMAND)
    if not schedule.strip():
        raise DatabaseError("the schedule is empty: nothing was saved")

    refuse_read_only_mode(db)
    await refuse_crashing_schedule(db, schedule)

    async def work(conn: psycopg.AsyncConnection) -> int:
        async with conn.transaction():
            await _begin_write(db, conn)
            ctx = await _check_names(conn, database, username)
            owner = username or ctx["current_user"]
            where = database or ctx["current_database"]
            existing = await fetch_rows(conn, "action_job_by_name",
                                        {"name": name, "username": owner})
            if existing:
                raise DatabaseError(
                    f"{owner} already has a job named {name!r} (#{existing[0]['jobid']}): "
                    "choose another name or edit that job; nothing was saved")
            return await schedule_job(conn, ctx, name=name, schedule=schedule,
                                      command=command, database=where, username=owner,
                                      active=active)

    try:
        return await db.with_connection(work)
    except DatabaseError as exc:
        raise _saved_nothing(exc) from exc


async def schedule_job(conn: psycopg.AsyncConnection, ctx: dict[str, Any], *, name: str,
                       schedule: str, command: str, database: str, username: str,
                       active: bool) -> int:
    """Schedule a new job on this connection (names already checked; `ctx` from
    names_context); returns its jobid."""
    own = username == ctx["current_user"] and database == ctx["current_database"]
    if own and active:
        # The plain form needs no grant beyond pg_cron's defaults.
        rows = await fetch_rows(conn, "action_schedule", {
            "name": name, "schedule": schedule, "command": command})
    else:
        rows = await fetch_rows(conn, "action_schedule_in_database", {
            "name": name, "schedule": schedule, "command": command,
            "database": database, "username": username, "active": active})
    return int(rows[0]["jobid"])


async def delete_job(db: Database, jobid: int) -> None:
    """Unschedule a job. Its run history stays in cron.job_run_details (pg_cron keeps it).

    Never sent from a read-only session: cron.unschedule deletes even there, so the check
    is ours, in the same transaction (through a pooler, on the same server connection)."""
    refuse_read_only_mode(db)

    async def work(conn: psycopg.AsyncConnection) -> None:
        async with conn.transaction():
            await _begin_write(db, conn)
            try:
                await fetch_rows(conn, "action_unschedule", {"jobid": jobid})
            except psycopg.Error as exc:
                if "could not find valid entry" in (exc.diag.message_primary or ""):
                    raise _gone(jobid) from exc
                raise

    await db.with_connection(work)


async def refuse_crashing_schedule(db: Database, expr: str) -> None:
    """Raise DatabaseError, before anything reaches the server, when `expr` may crash it
    (tui.db.release)."""
    if overflows_set_range(expr) and may_crash(expr, (await db.facts()).pg_cron_release):
        raise DatabaseError(crash_refusal(expr))
