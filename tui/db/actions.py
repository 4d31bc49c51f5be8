"""What an operator does to pg_cron's jobs: check a schedule, pause, edit, create, delete, and
run a job now. Each call has a deadline; every failure is a DatabaseError fit to show.

Writes go through pg_cron's own functions (schedule, alter_job, unschedule), never straight
into cron.job, so its checks and its scheduler's cache invalidation apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from tui.db.client import LOOKBACK_RUNS, Database, DatabaseError, explain
from tui.db.connect import APPLICATION_NAME, open_connection
from tui.db.queries import query
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


class JobChanged(DatabaseError):
    """The job's row differs from the one the operator edited: nothing was written."""

    def __init__(self, jobid: int, changes: list[tuple[str, Any, Any]]):
        listed = "; ".join(f"{name}: {old!r} is now {new!r}" for name, old, new in changes)
        super().__init__(f"job #{jobid} was changed by someone else since it was loaded "
                         f"({listed}); nothing was saved: reload it and edit again")
        self.jobid = jobid
        self.changes = changes


class NeedsConfirmation(DatabaseError):
    """We could not log in as the job's role: ask before running it another way."""

    def __init__(self, job: Job, user: str, reason: str, *, can_set_role: bool):
        if can_set_role:
            how = (f"{user} can take on {job.username} with SET ROLE, but the command could "
                   f"undo that and run with {user}'s privileges")
        else:
            how = f"{user} may not take on {job.username} either; it would run as {user}"
        super().__init__(f"cannot log in as {job.username} to run job {job.label} ({reason}); "
                         f"{how}", sqlstate=INSUFFICIENT_PRIVILEGE)
        self.role = job.username
        self.user = user
        self.can_set_role = can_set_role


async def _rows(conn: psycopg.AsyncConnection, name: str,
                params: dict[str, Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query(name), params)
        return await cur.fetchall() if cur.description else []


def _message(exc: psycopg.Error) -> str:
    """The server's message with its HINT, as psql would show both."""
    primary = exc.diag.message_primary or str(exc)
    return f"{primary} ({exc.diag.message_hint})" if exc.diag.message_hint else primary


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


async def _check_names(conn: psycopg.AsyncConnection, database: str | None,
                       username: str | None) -> dict[str, Any]:
    """Refuse unknown databases and roles with a plain sentence (pg_cron's own checks differ
    by version); returns current_user and current_database."""
    (ctx,) = await _rows(conn, "action_context", {"database": database, "username": username})
    if not ctx["database_exists"]:
        raise DatabaseError(f"database {database!r} does not exist on this server: "
                            "nothing was saved")
    if not ctx["role_exists"]:
        raise DatabaseError(f"role {username!r} does not exist on this server: "
                            "nothing was saved")
    return ctx


# -- reads used by the actions -------------------------------------------------


async def get_job(db: Database, jobid: int) -> Job:
    """The job as it is now (with its latest recent run), or DatabaseError if it is gone."""
    async def work(conn: psycopg.AsyncConnection) -> Job:
        return await _fresh(conn, jobid)

    return await db.with_connection(work)


async def _fresh(conn: psycopg.AsyncConnection, jobid: int) -> Job:
    rows = await _rows(conn, "action_job", {"jobid": jobid, "lookback": LOOKBACK_RUNS})
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
    async def work(conn: psycopg.AsyncConnection) -> str | None:
        name = f"{CHECK_PREFIX}{uuid.uuid4().hex}"  # never upserts over a real job
        try:
            async with conn.transaction(force_rollback=True):
                await _rows(conn, "action_check_schedule", {"name": name, "schedule": expr})
        except psycopg.errors.ReadOnlySqlTransaction:
            # pg_cron parses the schedule before it inserts: a read-only session (ours, or
            # a standby) gets this far only with a valid schedule.
            return None
        except psycopg.Error as exc:
            if exc.sqlstate == INVALID_PARAMETER:
                return _message(exc)
            raise
        return None

    return await db.with_connection(work)


# -- pause / resume / edit -----------------------------------------------------


async def set_active(db: Database, jobid: int, active: bool) -> Job:
    """Pause (active=False) or resume a job. The state is set, never toggled, so a second
    press or a stale screen cannot flip it back."""
    async def work(conn: psycopg.AsyncConnection) -> Job:
        async with conn.transaction():
            if not await _locked_job(conn, jobid):
                raise _gone(jobid)
            await _rows(conn, "action_alter_job", _alter_params(jobid, active=active))
        return await _fresh(conn, jobid)

    return await db.with_connection(work)


async def _locked_job(conn: psycopg.AsyncConnection, jobid: int) -> list[dict[str, Any]]:
    """The job's row, locked until the transaction ends (inside one)."""
    try:
        async with conn.transaction():  # a savepoint: a refusal leaves the outer one usable
            return await _rows(conn, "action_job_for_update", {"jobid": jobid})
    except psycopg.errors.InsufficientPrivilege:
        return await _rows(conn, "action_job_advisory_lock", {"jobid": jobid})


def _alter_params(jobid: int, **changes: Any) -> dict[str, Any]:
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

    async def work(conn: psycopg.AsyncConnection) -> Job:
        async with conn.transaction():
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
                await _rows(conn, "action_alter_job", _alter_params(loaded.jobid, **changes))
        return await _fresh(conn, loaded.jobid)

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

    async def work(conn: psycopg.AsyncConnection) -> int:
        async with conn.transaction():
            ctx = await _check_names(conn, database, username)
            owner = username or ctx["current_user"]
            where = database or ctx["current_database"]
            existing = await _rows(conn, "action_job_by_name", {"name": name, "username": owner})
            if existing:
                raise DatabaseError(
                    f"{owner} already has a job named {name!r} (#{existing[0]['jobid']}): "
                    "choose another name or edit that job; nothing was saved")
            own = owner == ctx["current_user"] and where == ctx["current_database"]
            if own and active:
                # The plain form needs no grant beyond pg_cron's defaults.
                rows = await _rows(conn, "action_schedule", {
                    "name": name, "schedule": schedule, "command": command})
            else:
                rows = await _rows(conn, "action_schedule_in_database", {
                    "name": name, "schedule": schedule, "command": command,
                    "database": where, "username": owner, "active": active})
            return int(rows[0]["jobid"])

    try:
        return await db.with_connection(work)
    except DatabaseError as exc:
        raise _saved_nothing(exc) from exc


async def delete_job(db: Database, jobid: int) -> None:
    """Unschedule a job. Its run history stays in cron.job_run_details (pg_cron keeps it)."""
    async def work(conn: psycopg.AsyncConnection) -> None:
        try:
            await _rows(conn, "action_unschedule", {"jobid": jobid})
        except psycopg.Error as exc:
            if "could not find valid entry" in (exc.diag.message_primary or ""):
                raise _gone(jobid) from exc
            raise

    await db.with_connection(work)


# -- run now -----------------------------------------------------------------------


@dataclass
class TriggerRun:
    """One manual run of a job, done as pg_cron would do it.

    Runs the command on a connection of its own to the job's database, as the job's role,
    as one plain query in autocommit (so VACUUM and multi-statement commands behave as under
    pg_cron), and records it in cron.job_run_details when this login may write there.

    Start `await run.run()` in an async worker; `await run.cancel()` from any other task on
    the same event loop stops the statement on the server.

    It logs in as the job's role, as pg_cron does. When the server refuses that login, it
    asks first (NeedsConfirmation): SET ROLE is no boundary, since the command can undo it
    (`reset role; ...`) and then act with the operator's privileges.
    """

    db: Database
    job: Job
    as_self: bool = False
    timeout_ms: int = 60_000

    status: str = "pending"  # pending -> running -> succeeded | failed
    message: str | None = None
    runid: int | None = None
    recorded: bool = False
    pid: int | None = None  # the run connection's backend pid
    role: str | None = None  # who the command ran as
    via_set_role: bool = False  # confirmed: the job's role taken on with SET ROLE
    operator: str | None = None  # who asked for the run: the session's own login
    user: str | None = None  # who logged in
    start_time: datetime | None = None
    end_time: datetime | None = None

    _conn: psycopg.AsyncConnection | None = field(default=None, repr=False)
    _executing: bool = field(default=False, repr=False)
    _cancel_requested: bool = field(default=False, repr=False)
    _done: asyncio.Event = field(default_factory=asyncio.Event, repr=False)

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")

    async def run(self) -> TriggerRun:
        """Run the job's command once; returns self, finished. Raises NeedsConfirmation before
        doing anything when the job's role may not be taken on, and DatabaseError when the
        run cannot start. A command's own failure is a finished run, not an exception."""
        if self.status != "pending":
            raise DatabaseError("this run was already started")
        if self.db.opts.read_only:
            raise DatabaseError("read-only session: running a job is not allowed")
        self.status = "starting"
        self._done.clear()
        try:
            try:
                self.operator = await _login_user(self.db)
                await self._connect()
                await self._record_start()
            except BaseException:
                self.status = "pending"  # nothing ran; the caller may try again
                raise
            await self._execute()
            await self._record_end()
        except asyncio.CancelledError:
            # The worker itself was cancelled (the app quit): stop the statement too.
            await asyncio.shield(self._abandon())
            raise
        finally:
            await self._close()
            self._done.set()
        return self

    async def cancel(self) -> None:
        """Stop the run: the statement is cancelled on the server and the run ends 'failed',
        'job canceled'. Harmless before the start and after the end."""
        self._cancel_requested = True
        for _ in range(5):
            conn = self._conn
            if self._done.is_set() or conn is None or not self._executing:
                return
            with contextlib.suppress(psycopg.Error):
                await conn.cancel_safe(timeout=5)
            # A cancel that reaches the server just before the query does is lost: retry.
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(self._done.wait(), 1)

    # -- steps ---------------------------------------------------------------------
    async def _connect(self) -> None:
        opts = replace(self.db.opts.for_database(self.job.database),
                       statement_timeout_ms=max(self.timeout_ms, 0))
        name = f"{APPLICATION_NAME} run of job {self.job.jobid}"
        login_refused = None
        if not self.as_self:
            # pg_cron logs in as the job's role, and so do we when the server lets us
            # (trust, peer, .pgpass, certificates): then the command cannot escape that role.
            try:
                self._conn = await open_connection(opts, user=self.job.username,
                                                   application_name=name)
            except psycopg.Error as exc:
                login_refused = (str(exc).strip().splitlines() or ["refused"])[0]
        if self._conn is None:
            try:
                self._conn = await open_connection(opts, application_name=name)
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or ["connection failed"])[0]
                raise DatabaseError(f"could not connect to database {self.job.database!r} "
                                    f"to run job {self.job.label}: {first}") from exc
        conn = self._conn
        self.pid = conn.info.backend_pid
        try:
            cur = await conn.execute("select current_user")
            row = await cur.fetchone()
            self.user = self.role = str(row[0]) if row else None
            if self.user == self.job.username:
                return
            can_set_role = await self._try_set_role(conn)
            if not self.as_self:
                raise NeedsConfirmation(self.job, self.user or "this login",
                                        login_refused or "login refused",
                                        can_set_role=can_set_role)
            if can_set_role:
                self.role, self.via_set_role = self.job.username, True
            else:
                await conn.execute("reset role")
        except psycopg.Error as exc:
            raise explain(exc) from exc

    async def _try_set_role(self, conn: psycopg.AsyncConnection) -> bool:
        try:
            await conn.execute(sql.SQL("set role {}").format(sql.Identifier(self.job.username)))
        except psycopg.errors.InsufficientPrivilege:
            return False
        return True

    async def _record_start(self) -> None:
        params = {"jobid": self.job.jobid, "pid": self.pid, "database": self.job.database,
                  "username": self.role, "command": self.job.command,
                  "message": f"manual run by {self.operator} via {APPLICATION_NAME}"}

        async def work(conn: psycopg.AsyncConnection) -> dict[str, Any]:
            (row,) = await _rows(conn, "action_run_start", params)
            return row

        try:
            row = await self.db.with_connection(work)
        except DatabaseError as exc:
            # No INSERT grant, row-level security or no USAGE on runid_seq: run unrecorded.
            if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
                raise
            self.recorded = False
            return
        self.recorded = True
        self.runid = int(row["runid"])
        self.start_time = row["start_time"]

    async def _execute(self) -> None:
        assert self._conn is not None
        conn = self._conn
        self.status = "running"
        if self.start_time is None:
            self.start_time = await _now(conn)
        # Client-side deadline for a dead network; the server's statement_timeout comes first.
        deadline = (self.timeout_ms / 1000 + self.db.opts.connect_timeout_s + 5
                    if self.timeout_ms > 0 else None)
        self._executing = True
        try:
            if self._cancel_requested:
                raise psycopg.errors.QueryCanceled("job canceled")
            # No parameters: psycopg sends it with the simple protocol, as one string, so
            # VACUUM and multi-statement commands behave as they do under pg_cron, and a %
            # in the command is not taken for a placeholder.
            command = sql.SQL(self.job.command)  # type: ignore[arg-type]  # the job's own SQL
            cur = await asyncio.wait_for(conn.execute(command), deadline)
            while cur.nextset():  # pg_cron reports the last statement's status
                pass
            self._finish("succeeded", _outcome(cur))
        except psycopg.errors.QueryCanceled as exc:
            text = "job canceled" if self._cancel_requested else _message(exc)
            self._finish("failed", text)
        except psycopg.OperationalError as exc:
            first = (str(exc).strip().splitlines() or ["connection lost"])[0]
            self._finish("failed", f"connection lost: {first}")
        except (TimeoutError, asyncio.TimeoutError):
            self._finish("failed", "no answer from the server in time")
        except psycopg.Error as exc:
            self._finish("failed", _message(exc))
        finally:
            self._executing = False
        if self.runid is None:
            self.end_time = await _now(conn) if not conn.broken else None

    def _finish(self, status: str, text: str) -> None:
        self.status = status
        self.message = f"manual run by {self.operator}: {text}"

    async def _record_end(self) -> None:
        if self.runid is None:
            return
        params = {"runid": self.runid, "status": self.status, "message": self.message}

        async def work(conn: psycopg.AsyncConnection) -> Any:
            rows = await _rows(conn, "action_run_end", params)
            return rows[0]["end_time"] if rows else None

        # Twice: a lost session is reopened by the second call, and a row left 'running'
        # would stay so until pg_cron's next restart.
        for attempt in (1, 2):
            try:
                self.end_time = await self.db.with_connection(work)
                return
            except DatabaseError as exc:
                if attempt == 2 or not exc.lost:
                    raise

    async def _abandon(self) -> None:
        with contextlib.suppress(Exception):
            if self.status == "running" and not self.finished:
                # The cancelled execute() left the statement running on the server.
                self._cancel_requested = True
                if self._conn is not None:
                    await self._conn.cancel_safe(timeout=5)
            if self.status in ("starting", "running"):
                self._finish("failed", "job canceled")
            await self._record_end()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)


def _outcome(cur: psycopg.AsyncCursor[Any]) -> str:
    """What pg_cron writes for a successful run: 'N row(s)' for a query, else its tag."""
    if cur.description is not None:
        return f"{cur.rowcount} {'row' if cur.rowcount == 1 else 'rows'}"
    return cur.statusmessage or ""


async def _login_user(db: Database) -> str:
    async def work(conn: psycopg.AsyncConnection) -> str:
        cur = await conn.execute("select session_user")
        row = await cur.fetchone()
        return str(row[0]) if row else "unknown"

    return await db.with_connection(work)


async def _now(conn: psycopg.AsyncConnection) -> datetime | None:
    try:
        cur = await conn.execute("select now()")
        row = await cur.fetchone()
        return row[0] if row else None
    except psycopg.Error:
        return None


async def trigger(db: Database, job: Job, *, as_self: bool = False,
                  timeout_ms: int = 60_000) -> TriggerRun:
    """Run `job` now and wait for it. To be able to cancel, build a TriggerRun and keep it."""
    return await TriggerRun(db, job, as_self=as_self, timeout_ms=timeout_ms).run()
