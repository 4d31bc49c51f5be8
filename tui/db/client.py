"""The data layer's one entry point: reads of pg_cron, each with a timeout."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg import pq
from psycopg.pq import TransactionStatus

from tui import log, rules
from tui.db.connect import ConnectOptions, is_direct, open_connection, read_in_one_trip, transaction
from tui.db.queries import query
from tui.db.release import from_extversion, probe_release
from tui.models import Job, PgCronRelease, Run, ServerFacts

T = TypeVar("T")

#: psycopg's prepare_threshold on a direct connection: never on its own, always on request.
PREPARE_ONLY_WHEN_ASKED = 2**31

#: runs_after.sql's page: a constant there (a generic plan that keeps to the index).
RUNS_AFTER_PAGE = 1000

#: A named .sql query and its parameters, for fetch_many.
Read = tuple[str, Mapping[str, Any] | None]

#: How long a cancelled call may take to bring its session back to idle before it is closed.
CANCEL_TIMEOUT_S = 5.0

#: Without a (jobid, runid) index, "latest run per job" looks only this far back.
LOOKBACK_RUNS = 10_000


class DatabaseError(Exception):
    """A query or connection failed; the message is fit for an operator's eyes."""

    def __init__(self, message: str, *, lost: bool = False, sqlstate: str | None = None):
        super().__init__(message)
        self.lost = lost
        self.sqlstate = sqlstate


def explain(exc: BaseException) -> DatabaseError:
    if isinstance(exc, DatabaseError):
        return exc
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError)):
        return DatabaseError("no answer from the server in time; will retry", lost=True)
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return DatabaseError(f"query timed out: {exc.diag.message_primary or exc}",
                             sqlstate=exc.sqlstate)
    # Only a broken session is "lost": a lock timeout (55P03) or a lack of resources (53)
    # are OperationalErrors too, refused on a session that still works.
    if isinstance(exc, psycopg.OperationalError) and (
            exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P"))):
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else "connection failed"
        return DatabaseError(f"connection lost: {first}", lost=True)
    if isinstance(exc, psycopg.Error):
        message = exc.diag.message_primary or str(exc)
        denied = re.match(r"permission denied for function (\w+)", message)
        if denied:
            # pg_cron revokes alter_job and schedule_in_database from PUBLIC: say who can fix it.
            name = denied.group(1)
            message = (f"{message}: this role may not call cron.{name} (a superuser can run "
                       f"'grant execute on function cron.{name} to <role>')")
        return DatabaseError(message, sqlstate=getattr(exc, "sqlstate", None))
    return DatabaseError(str(exc))


async def _to_the_end(cleanup: Awaitable[None]) -> None:
    """Run `cleanup` to its end even when the task is cancelled again meanwhile: the caller
    is raising CancelledError anyway, and a session half cleaned would be lost."""
    task = asyncio.ensure_future(cleanup)
    while not task.done():
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.shield(task)
    task.result()


def describe_target(opts: ConnectOptions) -> str:
    """user@host:port/database as libpq would resolve it (options, then PG* variables), so an
    operator sees which server was tried; a service name stands for what it resolves to."""
    from psycopg.conninfo import conninfo_to_dict

    given = {k: str(v) for k, v in conninfo_to_dict(opts.conninfo()).items() if v}
    env = {o.keyword.decode(): o.val.decode() for o in pq.Conninfo.get_defaults() if o.val}
    if "service" in given or ("service" in env and not given.get("host")):
        return f"service {given.get('service') or env['service']}"
    user = given.get("user") or env.get("user", "")
    host = given.get("host") or env.get("host") or "[local]"
    port = given.get("port") or env.get("port", "5432")
    dbname = given.get("dbname") or env.get("dbname") or user
    return f"{user}@{host}:{port}/{dbname}"


class Database:
    """One session on one server. Calls queue behind each other; each has a deadline."""

    def __init__(self, opts: ConnectOptions):
        self.opts = opts
        self._conn: psycopg.AsyncConnection | None = None
        self._lock = asyncio.Lock()
        # Until a first connection works, a failure is "could not connect", not "lost".
        self._ever_connected = False
        # The pg_cron release probed on the current connection (tui.db.release): once each.
        self._release: tuple[psycopg.AsyncConnection, PgCronRelease] | None = None
        self._failed: DatabaseError | None = None  # open()'s, for the next query to report
        self._call: asyncio.Future[Any] | None = None  # the call on the session, if one is
        self.sessions = 0  # connections opened so far: what was read of the last may be stale
        self.writes = 0  # write transactions begun (tui/db/writes.py): the jobs may differ
        self._direct: psycopg.AsyncConnection | None = None  # proven free of a pooler

    @property
    def deadline_s(self) -> float:
        # The server's statement_timeout ends a slow query; this catches a dead network.
        return self.opts.statement_timeout_ms / 1000 + self.opts.connect_timeout_s + 2

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.closed

    async def _connection(self) -> psycopg.AsyncConnection:
        failed, self._failed = self._failed, None
        if failed is not None:
            raise failed
        if self._conn is None or self._conn.closed or self._conn.broken:
            try:
                self._conn = await open_connection(self.opts)
            except psycopg.OperationalError as exc:
                if self._ever_connected:
                    raise
                first = (str(exc).strip().splitlines() or ["connection failed"])[0]
                raise DatabaseError(f"could not connect to {describe_target(self.opts)}: "
                                    f"{first}", lost=True) from exc
            if self._ever_connected:
                log.reconnect(describe_target(self.opts), "connected again after a loss")
            self._ever_connected = True
            self.sessions += 1
        return self._conn

    async def open(self) -> None:
        """Connect now, before the first query asks (the app starts connecting while Textual
        draws its first frame). A failure is kept for the first query to report: not tried
        twice, which would make the operator wait out a dead server's timeout twice."""
        async with self._lock:
            try:
                await self._connection()
            except Exception as exc:
                self._failed = explain(exc)

    async def close(self) -> None:
        """Closed now, even in a call (the app quits while a worker reads). The call is
        stopped first: its wait on the socket must end before the socket does, or the event
        loop keeps watching the closed socket's number, which the next connection gets (it
        then fails, "connection socket closed", or never hears from its server)."""
        call = self._call
        if call is not None and not call.done():
            call.cancel()
            await asyncio.wait({call}, timeout=CANCEL_TIMEOUT_S)
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    async def close_when_idle(self) -> None:
        """Closed once the call in progress (or being cancelled) lets go of the session."""
        async with self._lock:
            await self.close()

    async def fetch(self, name: str, params: Mapping[str, Any] | None = None,
                    ) -> list[dict[str, Any]]:
        """Run the named .sql query, in a transaction of its own with our limits, and return
        its rows as dicts."""
        (rows,) = await self.fetch_many([(name, params)])
        return rows

    async def fetch_many(self, reads: Sequence[Read], *, prepare: bool = False,
                         rollback: bool = False) -> list[list[dict[str, Any]]]:
        """The named .sql queries' rows, each a list of dicts, read together: one
        transaction, one round trip (tui/db/connect.py's read_in_one_trip). `prepare`: the
        same reads again and again (the steady refresh), planned once per session where the
        connection allows it (nothing between us and the server: connect.is_direct).
        `rollback`: the transaction is rolled back, whatever the statements did."""
        statements = [(query(name), params or {}) for name, params in reads]

        async def work(conn: psycopg.AsyncConnection) -> list[list[dict[str, Any]]]:
            return await read_in_one_trip(conn, self.opts, statements, rollback=rollback,
                                          prepare=prepare and conn is self._direct)

        return await self._on_connection(work)

    async def with_connection(self, work: Callable[[psycopg.AsyncConnection], Awaitable[T]],
                              *, deadline_s: float | None = None) -> T:
        """Run `work` on this session's connection as fetch runs a query: queued behind other
        calls, with a deadline, errors explained, inside one transaction that carries our
        limits (statement timeout, read-only) and commits when `work` returns. A
        `conn.transaction()` inside `work` is a savepoint."""
        async def in_transaction(conn: psycopg.AsyncConnection) -> T:
            async with transaction(conn, self.opts):
                return await work(conn)

        return await self._on_connection(in_transaction, deadline_s=deadline_s)

    async def _on_connection(self, work: Callable[[psycopg.AsyncConnection], Awaitable[T]],
                             *, deadline_s: float | None = None) -> T:
        async with self._lock:
            try:
                conn = await self._connection()
                call = self._call = asyncio.ensure_future(
                    asyncio.wait_for(work(conn), deadline_s or self.deadline_s))
                try:
                    # Shielded: a cancelled caller stops the statement through the server,
                    # never by cutting psycopg short in the middle of its protocol.
                    return await asyncio.shield(call)
                except asyncio.CancelledError:
                    if not call.done():
                        await _to_the_end(self._cancel(conn, call))
                    raise
            except asyncio.CancelledError:
                raise
            except BaseException as exc:
                error = explain(exc)
                if error.lost:
                    log.event("connection_lost", str(error), target=describe_target(self.opts))
                    await self._drop()
                raise error from exc

    async def _cancel(self, conn: psycopg.AsyncConnection, call: asyncio.Future[T]) -> None:
        """The caller was cancelled (Textual cancels workers routinely: an exclusive group's
        next worker, a screen closed): the statement is cancelled on the server, the call
        ends as a refused query would (rolled back), and the session stays for the next
        call. Closed only when it does not come back to idle in time."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CANCEL_TIMEOUT_S
        pause = 0.1
        # Asked again while the call runs: a request that reaches the server between two
        # statements of the call (its query not begun yet) cancels nothing.
        while not call.done() and loop.time() < deadline:
            with contextlib.suppress(Exception):
                await conn.cancel_safe(timeout=max(0.1, deadline - loop.time()))
            await asyncio.wait({call}, timeout=max(0.0, min(pause, deadline - loop.time())))
            pause *= 2
        if call.done() and not call.cancelled():
            call.exception()  # QueryCanceled, as asked: retrieved, the call is over
        if not call.done():  # psycopg's own interruption, then the session closed
            call.cancel()
            await asyncio.wait({call}, timeout=CANCEL_TIMEOUT_S)
        if conn is self._conn and not conn.broken and \
                conn.info.transaction_status == TransactionStatus.INERROR:
            # Cancelled in BEGIN or our limits, the pipeline skipped the rest, our ROLLBACK too.
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.rollback(), CANCEL_TIMEOUT_S)
        if conn is self._conn and (conn.broken or
                                   conn.info.transaction_status != TransactionStatus.IDLE):
            await self._drop()

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception as exc:  # closing a dead connection may fail; it is gone anyway
                log.swallowed("closing a dropped connection", exc)

    def apart(self) -> Database:
        """A session of its own with the same options, for a long read the operator asked
        for (the doctor, the timeline, explain over 50,000 runs): it never queues the
        refresh behind it. Close it when done (`async with db.apart() as other:`)."""
        return Database(self.opts)

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- reads --------------------------------------------------------------
    async def facts(self) -> ServerFacts:
        (row,) = await self.fetch("facts")
        return await self.facts_of(row)

    async def facts_of(self, row: dict[str, Any]) -> ServerFacts:
        """ServerFacts from facts.sql's row, with what only this session knows."""
        conn, client_port = self._conn, row.pop("client_port", None)
        if conn is not None and is_direct(conn, client_port):
            # Only what is asked with prepare=True: generic plans are poor for the
            # "param is null or ..." filters of the other reads.
            conn.prepare_threshold = PREPARE_ONLY_WHEN_ASKED
            self._direct = conn
        # The address the operator connected to (a pooler's, say), as libpq reports it; read
        # before the probe, which may lose the connection (closed, it reports nothing).
        host, port, hostaddr = ((conn.info.host, conn.info.port, conn.info.hostaddr)
                                if conn is not None else (None, None, None))
        release = await self._probe_release(row["pg_cron_version"])
        return ServerFacts(**row, pg_cron_release=release, connected_host=host,
                           connected_port=int(port) if port else None,
                           connected_hostaddr=hostaddr or None)

    async def _probe_release(self, extversion: str | None) -> PgCronRelease | None:
        if extversion is None:
            return None
        if self._release is not None and self._release[0] is self._conn:
            return self._release[1]

        async def work(conn: psycopg.AsyncConnection) -> tuple[psycopg.AsyncConnection,
                                                               PgCronRelease]:
            return conn, await probe_release(conn, self.opts, extversion)

        try:
            self._release = await self._on_connection(work)
        except DatabaseError:
            # The probe must not cost the facts (a timeout, a dropped connection): the line
            # from extversion stands until the next connection probes again.
            return from_extversion(extversion)
        return self._release[1]

    async def jobs(self, *, indexed: bool) -> list[Job]:
        (rows,) = await self.fetch_many([jobs_read(indexed)])
        return jobs_of(rows)

    async def runs_recent(self, *, limit: int = 100, before: int | None = None,
                          jobid: int | None = None, status: str | None = None) -> list[Run]:
        return runs_of(await self.fetch("runs_recent", {
            "limit": limit, "before": before, "jobid": jobid, "status": status}))

    async def runs_after(self, after: int, *, jobid: int | None = None,
                         status: str | None = None) -> list[Run]:
        """The next RUNS_AFTER_PAGE runs after `after`, oldest first."""
        return runs_of(await self.fetch("runs_after", {
            "after": after, "jobid": jobid, "status": status}))

    async def runs_by_ids(self, ids: Sequence[int]) -> list[Run]:
        if not ids:
            return []
        return runs_of(await self.fetch("runs_by_ids", {"ids": list(ids)}))


def jobs_read(indexed: bool) -> Read:
    """Every job with its latest run: by the (jobid, runid) index, or the bounded look-back."""
    return ("jobs_indexed", None) if indexed else ("jobs_lookback", {"lookback": LOOKBACK_RUNS})


def _judged(row: dict[str, Any], status: str, verdict: str) -> dict[str, Any]:
    """`row` read with the facts tui/rules.py judges a run by (job_pid, pid_alive,
    before_server_start: taken out), and `verdict` set: orphaned or not when its `status`
    is unfinished, else None. No second query for it."""
    pid, alive, before = row.pop("job_pid"), row.pop("pid_alive"), \
        row.pop("before_server_start")
    row[verdict] = (rules.is_orphaned(row[status], pid, alive, before)
                    if row[status] in rules.UNFINISHED else None)
    return row


def runs_of(rows: list[dict[str, Any]]) -> list[Run]:
    """Runs as runs_*.sql read them, each unfinished one judged."""
    return [Run(**_judged(row, "status", "orphaned")) for row in rows]


def jobs_of(rows: list[dict[str, Any]]) -> list[Job]:
    """Jobs as jobs_read()'s queries read them, an unfinished last run judged."""
    return [Job(**_judged(row, "last_status", "last_orphaned")) for row in rows]


def require_pg_cron(facts: ServerFacts) -> None:
    """Stop early, with the fix, when this database cannot show pg_cron's jobs."""
    if facts.pg_cron_version is not None:
        if not facts.cron_usage:
            raise DatabaseError(
                f"role {facts.current_user!r} may not read pg_cron's tables: run "
                f"'grant usage on schema cron to {facts.current_user}' as a superuser")
        return
    where = facts.cron_database_name
    if where and where != facts.database:
        raise DatabaseError(
            f"pg_cron keeps its jobs in database {where!r}, not {facts.database!r}: "
            f"connect with -d {where}")
    if facts.pg_cron_available:
        raise DatabaseError(
            f"pg_cron is not created in database {facts.database!r}: run "
            "'create extension pg_cron' in the database named by cron.database_name "
            "(pg_cron must also be in shared_preload_libraries)")
    raise DatabaseError("pg_cron is not installed on this server "
                        "(Debian: apt-get install postgresql-N-cron)")
