"""Run a job now, as pg_cron would (TriggerRun): on a connection of its own to the job's
database, as the job's role (tui.db.as_role), recorded in cron.job_run_details."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict

from tui import log
from tui.db import as_role
from tui.db.client import Database, DatabaseError, explain
from tui.db.connect import APPLICATION_NAME
from tui.db.run_plan import RunTarget
from tui.db.writes import (
    INSUFFICIENT_PRIVILEGE,
    JobChanged,
    refuse_read_only_mode,
    server_message,
    writable_job,
)
from tui.models import Job


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
    #: Called once the run is recorded and its command about to go: the run's row can be
    #: shown now (the TUI refreshes), not only once the command has ended.
    on_started: Callable[[], object] | None = None

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
            # The run's connection opens (a handshake of several round trips) while the
            # session checks the job: both are waited for before anything runs.
            connecting = asyncio.ensure_future(self._connect())
            try:
                # Writable, the job unchanged and the login role: one round trip.
                fresh, ((login,),) = await writable_job(self.db, self.job.jobid,
                                                        ("action_session_user", None))
                self._check_unchanged(fresh)
                self.operator = str(login["session_user"])
                await connecting
                await self._record_start()
            except BaseException:
                connecting.cancel()  # the check's refusal is the one told
                await asyncio.wait([connecting])
                if not connecting.cancelled():
                    connecting.exception()  # retrieved, so asyncio does not report it
                self.status = "pending"  # nothing ran; the caller may try again
                raise
            if self.on_started is not None:
                self.on_started()
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
            with log.swallowing("recording a manual run's end while stopping"):
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
    def _check_unchanged(self, fresh: Job) -> None:
        """The job as it is now must be the one the operator confirmed: never run a command
        that changed in between."""
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
            if self.timeout_ms and "unsupported startup parameter" in str(exc):
                raise DatabaseError(
                    f"the pooler refuses startup options, so a {self.timeout_ms / 1000:g} s "
                    "limit cannot be set for this run alone: nothing was run; choose no limit "
                    "(the server's own statement_timeout applies)") from exc
            raise

    async def _connect(self) -> None:
        # pg_cron logs in as the job's role, and so do we when the server lets us; once the
        # operator confirmed (as_self) the refusal is known, so the login is not tried again.
        try:
            self._conn, login_refused = await as_role.connect(
                self.job, self._open, try_login=not self.as_self)
        except psycopg.Error as exc:
            first = as_role.first_line(exc, "connection failed")
            where = ("" if self.target.host is None
                     else f" on {self.target.host}:{self.target.port}")
            raise DatabaseError(f"could not connect to database {self.job.database!r}"
                                f"{where} to run job {self.job.label}: {first}; nothing "
                                "was run", lost=False) from exc
        conn = self._conn
        self.pid = conn.info.backend_pid
        try:
            acting = await as_role.acting(conn, self.job, as_self=self.as_self,
                                          refused=login_refused, doing="run")
        except as_role.NeedsConfirmation as exc:
            self.user = self.role = exc.user
            raise
        except psycopg.Error as exc:
            raise explain(exc) from exc
        self.user = self.role = acting.user
        if acting.via_set_role:
            self.role, self.via_set_role = self.job.username, True

    async def _record_start(self) -> None:
        params = {"jobid": self.job.jobid, "pid": self.pid, "database": self.job.database,
                  "username": self.role, "command": self.job.command,
                  "message": f"manual run by {self.operator} via {APPLICATION_NAME}"}

        try:
            (row,) = await self.db.fetch("action_run_start", params)  # one round trip
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
            command = sql.SQL(self.job.command)  # the job's own SQL
            if self.via_set_role:
                # The role is taken on for one transaction only (SET LOCAL): it pins the server
                # connection behind a transaction pooler, so the command runs as that role and
                # no other client inherits it. Commands that refuse a transaction block
                # (VACUUM) fail here, with the server's reason.
                async with conn.transaction():
                    await as_role.set_local_role(conn, self.job.username)
                    cur = await asyncio.wait_for(conn.execute(command), deadline)
            else:
                cur = await asyncio.wait_for(conn.execute(command), deadline)
            while cur.nextset():  # pg_cron reports the last statement's status
                pass
            self._finish("succeeded", _outcome(cur))
        except psycopg.errors.QueryCanceled as exc:
            text = _as_pg_cron(exc)
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
            self._finish("failed", _as_pg_cron(exc))
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

        # Twice: a lost session is reopened by the second call, and a row left 'running'
        # would stay so until pg_cron's next restart.
        for attempt in (1, 2):
            try:
                rows = await self.db.fetch("action_run_end", params)  # one round trip
                self.end_time = rows[0]["end_time"] if rows else None
                return
            except DatabaseError as exc:
                if attempt == 2 or not exc.lost:
                    raise

    async def _abandon(self) -> None:
        with log.swallowing("cancelling and recording an abandoned manual run"):
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
            with log.swallowing("closing a manual run's connection"):
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


def _as_pg_cron(exc: psycopg.Error) -> str:
    """The server's message as pg_cron records a failed run's: `ERROR:  <message>`, its
    severity kept (an operator greps the history for `ERROR:`)."""
    severity = exc.diag.severity_nonlocalized or exc.diag.severity or "ERROR"
    return f"{severity}:  {server_message(exc)}"
