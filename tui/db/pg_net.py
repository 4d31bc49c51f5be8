"""pg_net in a job's database: an HTTP job's arguments evaluated as the job's role, and
pg_net's recorded answers. tui.http_jobs reads the calls and shows the results (masked);
the queries and the sessions are here.

The evaluation runs the job's own text with the job's own privileges only (tui.db.as_role):
one statement (the extended protocol refuses more), in a read-only transaction that is
rolled back, under a statement timeout.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from tui import log
from tui.db import as_role
from tui.db.client import Database, DatabaseError, explain
from tui.db.connect import APPLICATION_NAME, open_connection, transaction
from tui.db.queries import query
from tui.models import Job

T = TypeVar("T")


@dataclass(frozen=True)
class Evaluated:
    """The arguments' values, as the server computed them (they hold secrets)."""

    values: dict[str, Any]  # url, headers, body, params, timeout_ms
    vault_values: tuple[str, ...]  # the values of the Vault secrets the call reads
    role: str  # who evaluated them, in words


async def evaluate_call(db: Database, job: Job, exprs: dict[str, str], *,
                        vault_names: list[str] | None, as_self: bool,
                        timeout_ms: int) -> Evaluated:
    """`exprs` (url, headers, body, params, timeout: the job's SQL) evaluated in the job's
    database as the job's role (logged in as it, as pg_cron does). When that login is
    refused: NeedsConfirmation, unless `as_self` (then SET LOCAL ROLE when this login may,
    else this login). `vault_names`: the Vault secrets the call reads by name ([]: it reads
    Vault but names none; None: it does not read Vault)."""
    opts = replace(db.opts.for_database(job.database), statement_timeout_ms=timeout_ms)
    name = f"{APPLICATION_NAME} http of job {job.jobid}"

    async def open_as(user: str | None) -> psycopg.AsyncConnection:
        if user is None:
            return await open_connection(opts, application_name=name)
        return await open_connection(opts, user=user, application_name=name)

    conn: psycopg.AsyncConnection | None = None
    try:
        try:
            conn, refused = await as_role.connect(job, open_as)
        except psycopg.Error as exc:
            first = as_role.first_line(exc, "connection failed")
            raise DatabaseError(f"could not connect to database {job.database!r} to "
                                f"evaluate job {job.label}: {first}") from exc
        return await asyncio.wait_for(
            _evaluate_on(conn, job, exprs, vault_names, as_self=as_self, refused=refused,
                         timeout_ms=timeout_ms),
            timeout_ms / 1000 + opts.connect_timeout_s + 2)
    except (psycopg.Error, TimeoutError, asyncio.TimeoutError) as exc:
        raise explain(exc) from exc
    finally:
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception as exc:  # closing a broken connection may fail; it is gone
                log.swallowed("closing pg_net's polling connection", exc)


async def _evaluate_on(conn: psycopg.AsyncConnection, job: Job, exprs: dict[str, str],
                       vault_names: list[str] | None, *, as_self: bool, refused: str | None,
                       timeout_ms: int) -> Evaluated:
    # All in one read-only transaction that is rolled back, the role taken with SET LOCAL:
    # nothing of it outlives the transaction (a pooler hands the connection on after it).
    async with transaction(conn, None, timeout_ms=timeout_ms, read_only=True,
                           force_rollback=True):
        acting = await as_role.acting(conn, job, as_self=as_self, refused=refused,
                                      doing="evaluate")
        role = acting.user
        if acting.via_set_role:
            await as_role.set_local_role(conn, job.username)
            role = f"{job.username} (via SET ROLE by {acting.user})"
        evaluation = query("http_evaluate").format(
            **{key: sql.SQL(text) for key, text in exprs.items()})
        async with conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(evaluation, binary=True)
            values = await cur.fetchone()
        assert values is not None
        vault_values = () if vault_names is None else await _vault_secrets(conn, vault_names)
        return Evaluated(dict(values), vault_values, role)


async def _vault_secrets(conn: psycopg.AsyncConnection, names: list[str]) -> tuple[str, ...]:
    """Read in a savepoint: a role that may not read them leaves the evaluation as it was."""
    try:
        async with conn.transaction():
            cur = await conn.execute(query("http_vault_values"), {"names": names})
            rows = await cur.fetchall()
    except psycopg.Error:
        return ()
    return tuple(str(row[0]) for row in rows if row[0])


# -- pg_net's own answers -------------------------------------------------------------------


@dataclass(frozen=True)
class PgNetRows:
    """Whether pg_net is there, and its answers as stored (unmasked)."""

    installed: bool  # net._http_response exists
    version: str | None  # pg_net's extversion
    rows: list[dict[str, Any]] | None  # None: this role may not read net._http_response


async def pg_net_rows(conn: psycopg.AsyncConnection, *, since: Any = None,
                      limit: int = 10) -> PgNetRows:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query("http_pg_net"))
        presence = await cur.fetchone()
    if not presence or not presence["has_responses"]:
        return PgNetRows(False, None, [])
    try:
        # A savepoint: a refusal leaves the caller's transaction usable.
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query("http_responses"), {"since": since, "limit": limit})
            rows = await cur.fetchall()
    except psycopg.errors.InsufficientPrivilege:
        return PgNetRows(True, presence["extversion"], None)
    return PgNetRows(True, presence["extversion"], rows)


async def session_pg_net_rows(db: Database, *, since: Any = None, limit: int = 10
                              ) -> PgNetRows:
    """pg_net_rows in the session's own database: a round trip for each of its two reads,
    where a transaction of their own would take five (BEGIN, limits, savepoint...)."""
    ((presence,),) = await db.fetch_many([("http_pg_net", None)])
    if not presence["has_responses"]:
        return PgNetRows(False, None, [])
    try:
        rows = await db.fetch("http_responses", {"since": since, "limit": limit})
    except DatabaseError as exc:
        if exc.sqlstate != as_role.INSUFFICIENT_PRIVILEGE:
            raise
        return PgNetRows(True, presence["extversion"], None)
    return PgNetRows(True, presence["extversion"], rows)


async def in_job_database(db: Database, job: Job, work: Callable[[psycopg.AsyncConnection],
                                                                 Awaitable[T]], *,
                          current_database: str | None) -> T:
    """`work` in the job's database, on this login (static queries only): on the session
    itself when the job lives in its database, else on a connection of its own."""
    if current_database == job.database:
        return await db.with_connection(work)
    try:
        opts = db.opts.for_database(job.database)
        conn = await open_connection(opts)
        try:
            async def limited(conn: psycopg.AsyncConnection) -> T:
                async with transaction(conn, opts):
                    return await work(conn)

            return await asyncio.wait_for(limited(conn), db.deadline_s)
        finally:
            await conn.close()
    except (psycopg.Error, TimeoutError, asyncio.TimeoutError) as exc:
        raise explain(exc) from exc
