"""What an operator does to pg_cron's jobs: check a schedule, pause, edit, create, delete, and
run a job now. Each call has a deadline; every failure is a DatabaseError fit to show.

Writes go through pg_cron's own functions (schedule, alter_job, unschedule), never straight
into cron.job, so its checks and its scheduler's cache invalidation apply.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import dict_row

from tui.db.client import LOOKBACK_RUNS, Database, DatabaseError, explain
from tui.db.connect import APPLICATION_NAME
from tui.db.queries import query
from tui.db.release import refuse_crashing_schedule
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
    (pg_cron's unschedule deletes even in a READ ONLY transaction) and bound lock waits."""
    refuse_read_only_mode(db)
    # A lock held by another session (an open transaction, a stuck editor) is reported
    # as such, before the statement timeout would end the wait with a vaguer message.
    wait = max(db.opts.statement_timeout_ms * 3 // 5, 50)
    (row,) = await _rows(conn, "action_begin", {"lock_timeout": f"{wait}ms"})
    if row["read_only_reason"]:
        raise ReadOnly(row["read_only_reason"])


async def check_writable(db: Database) -> None:
    """ReadOnly unless this session may write (nothing is written to find out)."""
    refuse_read_only_mode(db)

    async def work(conn: psycopg.AsyncConnection) -> None:
        async with conn.transaction(force_rollback=True):
            await _begin_write(db, conn)

    await db.with_connection(work)


def refusal(error: BaseException) -> str:
    """One sentence for an operator: the server's message and what to do about it."""
    exc = error if isinstance(error, DatabaseError) else explain(error)
    text = str(exc).rstrip(". ")
    if isinstance(exc, (ReadOnly, JobChanged, NeedsConfirmation)):
        return text  # our own sentences already say what to do
    if exc.lost:
        advice = ("the server went away (restarted, or the session was ended): reconnect "
                  "(the app does so by itself) and check the job's state before trying again")
    else:
        state = exc.sqlstate or ""
        advice = next((ADVICE[k] for k in (state, state[:3], state[:2]) if k in ADVICE), "")
        if state == QUERY_CANCELED and "statement timeout" not in text:
            advice = ("the statement was cancelled (by an administrator or another "
                      "session): nothing was changed; try again")
    if not advice or advice in text or "grant " in text:
        return text
    return f"{text}: {advice}"


QUERY_CANCELED = "57014"

#: What to do, by SQLSTATE (or its class), after the server's own message.
ADVICE = {
    READ_ONLY_TRANSACTION: (
        "the server refuses writes in this session (a read-only role or pooler, or a "
        "standby): connect to the primary with a role that may write"),
    INSUFFICIENT_PRIVILEGE: "ask a superuser for the privilege (the README lists them)",
    "55P03": ("another session holds a lock on it (an open transaction, or pg_cron itself): "
              "nothing was changed; try again once it has finished"),
    QUERY_CANCELED: ("the server did not finish within the statement timeout: nothing was "
                     "changed; try again, or raise --statement-timeout"),
    "40": "the server rolled it back (a conflict with another session): try again",
    "53": "the server is short of resources (connections, memory or disk): try again later",
    "57P": ("the server is shutting down or restarting: reconnect (the app does so by "
            "itself) and check the job's state before trying again"),
}


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
    try:
        await refuse_crashing_schedule(db, expr)  # pg_cron 1.6.0-1.6.4 would die of it
    except DatabaseError as exc:
        return str(exc)

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
    refuse_read_only_mode(db)

    async def work(conn: psycopg.AsyncConnection) -> Job:
        async with conn.transaction():
            await _begin_write(db, conn)
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

    refuse_read_only_mode(db)
    await refuse_crashing_schedule(db, schedule)

    async def work(conn: psycopg.AsyncConnection) -> int:
        async with conn.transaction():
            await _begin_write(db, conn)
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
    """Unschedule a job. Its run history stays in cron.job_run_details (pg_cron keeps it).

    Never sent from a read-only session: cron.unschedule deletes even there, so the check
    is ours, in the same transaction (through a pooler, on the same server connection)."""
    refuse_read_only_mode(db)

    async def work(conn: psycopg.AsyncConnection) -> None:
        async with conn.transaction():
            await _begin_write(db, conn)
            try:
                await _rows(conn, "action_unschedule", {"jobid": jobid})
            except psycopg.Error as exc:
                if "could not find valid entry" in (exc.diag.message_primary or ""):
                    raise _gone(jobid) from exc
                raise

    await db.with_connection(work)


# -- run now -----------------------------------------------------------------------

#: Runs of a job still in progress are looked for among this many newest runs (a range scan
#: of the primary key; a run that started before as many others is long stuck anyway).
IN_PROGRESS_LOOKBACK = 100_000

#: Names by which pg_cron's connection reaches the server it runs on (cron.host's default is
#: localhost; a path is a Unix socket directory).
LOCAL_NAMES = frozenset({"", "localhost", "127.0.0.1", "::1"})


def _is_local(name: str | None) -> bool:
    return name is None or name in LOCAL_NAMES or name.startswith(("/", "@", "127."))


def age_text(age: timedelta | None) -> str:
    if age is None:
        return "not started yet"
    seconds = max(int(age.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


@dataclass(frozen=True)
class RunInProgress:
    """A run of a job not finished yet, as cron.job_run_details has it."""

    runid: int
    jobid: int
    job_pid: int | None
    status: str
    start_time: datetime | None
    username: str | None
    database: str | None
    return_message: str | None
    age: timedelta | None
    alive: bool  # a backend with job_pid exists; False for a row a crash left behind

    @property
    def manual(self) -> bool:
        return (self.return_message or "").startswith("manual run by")

    def describe(self) -> str:
        who = "a manual run" if self.manual else "pg_cron's run"
        since = ("not started yet" if self.age is None
                 else f"{self.status} for {age_text(self.age)}")
        pid = f", backend pid {self.job_pid}" if self.job_pid else ""
        gone = "" if self.alive else "; its process is gone (a row left behind by a crash)"
        return f"{who} #{self.runid} ({since}{pid}){gone}"


@dataclass(frozen=True)
class RunTarget:
    """Where a manual run connects: this server (host None), or the job's own node."""

    host: str | None = None
    port: int | None = None
    where: str = "this server"


@dataclass(frozen=True)
class RunPlan:
    """What the confirmation of a manual run shows, read fresh from the server."""

    job: Job
    in_progress: list[RunInProgress]
    target: RunTarget

    @property
    def running(self) -> list[RunInProgress]:
        return [r for r in self.in_progress if r.alive]


async def runs_in_progress(db: Database, jobid: int) -> list[RunInProgress]:
    """The job's unfinished runs, newest first (only its own under row-level security)."""
    rows = await db.fetch("action_runs_in_progress",
                          {"jobid": jobid, "lookback": IN_PROGRESS_LOOKBACK})
    return [RunInProgress(**row) for row in rows]


async def plan_run(db: Database, jobid: int) -> RunPlan:
    """Everything to ask before a manual run: the job as it is now, its runs in progress,
    and where pg_cron would run it. Raises DatabaseError, before anything runs, when this
    session may not write (the run is recorded) or when that place cannot be reached."""
    refuse_read_only_mode(db)

    async def work(conn: psycopg.AsyncConnection) -> tuple[Job, list[dict[str, Any]],
                                                           dict[str, Any]]:
        job = await _fresh(conn, jobid)
        runs = await _rows(conn, "action_runs_in_progress",
                           {"jobid": jobid, "lookback": IN_PROGRESS_LOOKBACK})
        (where,) = await _rows(conn, "action_run_target", {"jobid": jobid})
        return job, runs, where

    await check_writable(db)
    job, runs, where = await db.with_connection(work)
    return RunPlan(job, [RunInProgress(**r) for r in runs], _target(job, where))


def _target(job: Job, row: dict[str, Any]) -> RunTarget:
    """pg_cron connects to the job's nodename:nodeport unless it uses background workers."""
    workers, name, port = row["use_background_workers"], row["nodename"], row["nodeport"]
    if workers == "on":
        return RunTarget(where="this server (pg_cron runs jobs in background workers)")
    local = _is_local(name) or name == row["cron_host"]
    if local and port == row["port"]:
        return RunTarget()
    node = f"{name}:{port}"
    if workers is None:
        raise DatabaseError(
            f"job {job.label} is stored for {node}, not this server's port {row['port']}, and "
            "this role may not read cron.use_background_workers, so where pg_cron runs it is "
            "unknown: nothing was run; a superuser can grant pg_read_all_settings")
    if local and not _is_local(row["server_addr"]) and row["server_addr"] != "local socket":
        raise DatabaseError(
            f"job {job.label} is stored with nodeport {port} but this server listens on port "
            f"{row['port']}: pg_cron connects to {node} on the server's own host, which cannot "
            "be reached from here; nothing was run: fix the job's nodeport (the doctor, !, "
            "shows how)")
    return RunTarget(host=name or "localhost", port=port,
                     where=f"{node}, the node pg_cron runs it on (cron.job's nodename and "
                           "nodeport)")


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: bool
    message: str


async def cancel_run(db: Database, run: RunInProgress) -> CancelOutcome:
    """Cancel the statement of a run in progress (pg_cron's own or another session's
    manual run) with pg_cancel_backend: pg_cron then records it failed. Refused, with the
    missing privilege named, when this role may not signal the run's backend."""
    refuse_read_only_mode(db)
    if not run.job_pid:
        return CancelOutcome(False, f"run #{run.runid} has no process yet: nothing to cancel")

    async def work(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
        return await _rows(conn, "action_cancel_backend", {
            "pid": run.job_pid, "username": run.username, "database": run.database,
            "start": run.start_time})

    async def owner_is_superuser(conn: psycopg.AsyncConnection) -> bool:
        (row,) = await _rows(conn, "action_role_is_superuser", {"username": run.username})
        return bool(row["rolsuper"])

    try:
        rows = await db.with_connection(work)
    except DatabaseError as exc:
        if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
            raise
        if await db.with_connection(owner_is_superuser):
            fix = (f"its role {run.username} is a superuser, and only a superuser may cancel "
                   "a superuser's statement")
        else:
            fix = (f"this role needs pg_signal_backend or membership in {run.username} (a "
                   "superuser can run 'grant pg_signal_backend to <role>')")
        raise DatabaseError(f"may not cancel run #{run.runid}: {exc}; {fix}",
                            sqlstate=INSUFFICIENT_PRIVILEGE) from exc
    if not rows:
        return CancelOutcome(False, f"run #{run.runid}'s process (pid {run.job_pid}) is gone: "
                                    "the run has ended or was left behind by a crash")
    if not rows[0]["cancelled"]:
        return CancelOutcome(False, f"the server could not signal pid {run.job_pid}")
    return CancelOutcome(True, f"cancel sent to run #{run.runid} (pid {run.job_pid}); pg_cron "
                               "records it as failed")


@dataclass
class TriggerRun:
    """One manual run of a job, done as pg_cron would do it.

    Runs the command on a connection of its own to the job's database, as the job's role,
    as one plain query in autocommit (so VACUUM and multi-statement commands behave as under
    pg_cron), and records it in cron.job_run_details when this login may write there.

    Start `await run.run()` in an async worker; `await run.cancel()` from any other task on
    the same event loop stops the statement on the server, and `await run.abort(reason)`
    (the app quitting, the terminal hanging up) also records the run failed itself when
    the worker cannot.

    `timeout_ms` is the operator's choice: None adds no limit to the server's own
    statement_timeout (the job's role's and database's, as under pg_cron). `target` is
    where pg_cron would run it (plan_run).

    It logs in as the job's role, as pg_cron does. When the server refuses that login, it
    asks first (NeedsConfirmation): SET ROLE is no boundary, since the command can undo it
    (`reset role; ...`) and then act with the operator's privileges.
    """

    db: Database
    job: Job
    as_self: bool = False
    timeout_ms: int | None = None
    target: RunTarget = field(default_factory=RunTarget)

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
    _abort_reason: str | None = field(default=None, repr=False)
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
        refuse_read_only_mode(self.db)
        self.status = "starting"
        self._done.clear()
        try:
            try:
                await check_writable(self.db)
                await self._check_unchanged()
                self.operator = await _login_user(self.db)
                await self._connect()
                await self._record_start()
            except BaseException:
                self.status = "pending"  # nothing ran; the caller may try again
                raise
            await self._execute()
            await self._record_end()
        except asyncio.CancelledError:
            # The worker itself was cancelled (the app quit): stop the statement too, and
            # record the end even if cancelled again meanwhile (a second signal), or the
            # row would stay 'running'. _abandon's steps each have a deadline.
            abandon = asyncio.ensure_future(self._abandon())
            while not abandon.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.shield(abandon)
            raise
        finally:
            await self._close()
            self._done.set()
        return self

    def stopping(self, reason: str) -> None:
        """The app is going away for `reason`: the run's message says so if it is cut
        short (by abort, or by its worker being cancelled)."""
        self._abort_reason = reason

    async def abort(self, reason: str) -> None:
        """Stop the run because the app is going away, and make sure its row does not stay
        'running': recorded failed with `reason`, by the run's worker or, failing that, here."""
        self._abort_reason = reason
        await self.cancel()
        if self.status in ("starting", "running") and not self._done.is_set():
            self._finish("failed", f"job canceled ({reason})")
            with contextlib.suppress(Exception):
                await self._record_end()

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
    async def _check_unchanged(self) -> None:
        """The job as it is now must be the one the operator confirmed: never run a command
        that changed in between."""
        fresh = await get_job(self.db, self.job.jobid)
        differ = [(k, getattr(self.job, k), getattr(fresh, k))
                  for k in ("command", "database", "username")
                  if getattr(self.job, k) != getattr(fresh, k)]
        if differ:
            raise JobChanged(self.job.jobid, differ, did="nothing was run")

    async def _open(self, user: str | None) -> psycopg.AsyncConnection:
        """A connection of the run's own, as pg_cron opens one: the job's database (on the
        job's node), no session settings of ours. The operator's time limit, if any, is a
        startup option: it lasts as long as this connection and cannot leak into a pool."""
        place: dict[str, str] = {"dbname": self.job.database}
        if self.target.host is not None:
            place.update(host=self.target.host, port=str(self.target.port))
        opts = self.db.opts
        override = {**place, "application_name": f"{APPLICATION_NAME} run of job "
                                                 f"{self.job.jobid}",
                    # A run may take hours without a byte: keepalives find a dead peer.
                    "keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10",
                    "keepalives_count": "6"}
        if user:
            override["user"] = user
        if self.timeout_ms:
            given = conninfo_to_dict(opts.conninfo()).get("options") or ""
            override["options"] = f"{given} -c statement_timeout={int(self.timeout_ms)}".strip()
        try:
            return await psycopg.AsyncConnection.connect(
                opts.conninfo(**override), autocommit=True, prepare_threshold=None)
        except psycopg.OperationalError as exc:
            if "options" in override and "unsupported startup parameter" in str(exc):
                raise DatabaseError(
                    f"the pooler refuses startup options, so a {self.timeout_ms / 1000:g} s "
                    "limit cannot be set for this run alone: nothing was run; choose no limit "
                    "(the server's own statement_timeout applies)") from exc
            raise

    async def _connect(self) -> None:
        login_refused = None
        if not self.as_self:
            # pg_cron logs in as the job's role, and so do we when the server lets us
            # (trust, peer, .pgpass, certificates): then the command cannot escape that role.
            try:
                self._conn = await self._open(self.job.username)
            except psycopg.Error as exc:
                login_refused = (str(exc).strip().splitlines() or ["refused"])[0]
        if self._conn is None:
            try:
                self._conn = await self._open(None)
            except psycopg.Error as exc:
                first = (str(exc).strip().splitlines() or ["connection failed"])[0]
                where = ("" if self.target.host is None
                         else f" on {self.target.host}:{self.target.port}")
                raise DatabaseError(f"could not connect to database {self.job.database!r}"
                                    f"{where} to run job {self.job.label}: {first}; nothing "
                                    "was run", lost=False) from exc
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
        except psycopg.Error as exc:
            raise explain(exc) from exc

    def _set_local_role(self) -> sql.Composed:
        return sql.SQL("set local role {}").format(sql.Identifier(self.job.username))

    async def _try_set_role(self, conn: psycopg.AsyncConnection) -> bool:
        # Tried in a rolled-back transaction: a session-level SET ROLE would stay on the server
        # connection, which a transaction pooler hands to its next client.
        try:
            async with conn.transaction(force_rollback=True):
                await conn.execute(self._set_local_role())
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
        # Without a limit, TCP keepalives are what notices a dead peer.
        deadline = (self.timeout_ms / 1000 + self.db.opts.connect_timeout_s + 5
                    if self.timeout_ms else None)
        self._executing = True
        try:
            if self._cancel_requested:
                raise psycopg.errors.QueryCanceled("job canceled")
            # No parameters: psycopg sends it with the simple protocol, as one string, so
            # VACUUM and multi-statement commands behave as they do under pg_cron, and a %
            # in the command is not taken for a placeholder.
            command = sql.SQL(self.job.command)  # type: ignore[arg-type]  # the job's own SQL
            if self.via_set_role:
                # The role is taken on for one transaction only (SET LOCAL): it pins the server
                # connection behind a transaction pooler, so the command runs as that role and
                # no other client inherits it. Commands that refuse a transaction block
                # (VACUUM) fail here, with the server's reason.
                async with conn.transaction():
                    await conn.execute(self._set_local_role())
                    cur = await asyncio.wait_for(conn.execute(command), deadline)
            else:
                cur = await asyncio.wait_for(conn.execute(command), deadline)
            while cur.nextset():  # pg_cron reports the last statement's status
                pass
            self._finish("succeeded", _outcome(cur))
        except psycopg.errors.QueryCanceled as exc:
            text = _message(exc)
            if self._cancel_requested:
                text = "job canceled" + (f" ({self._abort_reason})" if self._abort_reason
                                         else "")
            elif self.timeout_ms and "statement timeout" in text:
                text += f" (the {self.timeout_ms / 1000:g} s limit chosen for this run)"
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
                    await _cancel_until_answered(self._conn)
            if self.status in ("starting", "running"):
                reason = self._abort_reason or "the app stopped"
                self._finish("failed", f"job canceled ({reason})")
            await self._record_end()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2)


async def _cancel_until_answered(conn: psycopg.AsyncConnection, tries: int = 5) -> None:
    """Cancel the statement in flight on `conn`, again until the server answers it: a
    cancel that arrives before the backend has read the query is dropped by the server."""
    for _ in range(tries):
        await conn.cancel_safe(timeout=5)
        await asyncio.sleep(0.3)
        pgconn = conn.pgconn
        pgconn.consume_input()
        if not pgconn.is_busy():
            return


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
                  timeout_ms: int | None = None,
                  target: RunTarget | None = None) -> TriggerRun:
    """Run `job` now and wait for it. To be able to cancel, build a TriggerRun and keep it."""
    return await TriggerRun(db, job, as_self=as_self, timeout_ms=timeout_ms,
                            target=target or RunTarget()).run()
