"""Connection options in psql's manner, and the one way our limits reach the server.

Nothing we set may outlive our own transaction. Behind a transaction pooler (PgBouncer in
transaction mode, Supabase's Supavisor on port 6543) a server connection passes from client
to client between transactions, and a session setting (`SET`, `set_config(..., false)`) stays
on it for whoever comes next: our statement timeout would cut short the application's own
queries, and a read-only flag would follow others (and not us). So connections carry no
settings of ours; `transaction()` opens a transaction and sets the statement timeout and
read-only in it (SET LOCAL), and every query of ours runs inside one (a read's in one round
trip: `read_in_one_trip()`). Startup options
(`options=-c ...`) are not used: PgBouncer refuses unknown startup parameters.
"""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.pq import TransactionStatus
from psycopg.rows import dict_row

from tui.db.queries import query

APPLICATION_NAME = "cronjobs-tui"


def _is_conninfo(text: str) -> bool:
    return "=" in text or text.startswith(("postgresql://", "postgres://"))


@dataclass(frozen=True)
class ConnectOptions:
    """What psql takes: -d (a name, conninfo or URI), -h, -p, -U.

    Everything left empty falls through to libpq, so PG* variables, pg_service.conf
    (``service=``) and .pgpass keep working as they do for psql.
    """

    dbname: str | None = None
    host: str | None = None
    port: str | None = None
    user: str | None = None
    read_only: bool = False
    statement_timeout_ms: int = 5000
    connect_timeout_s: int = 5

    def conninfo(self, **override: str) -> str:
        dsn = ""
        params: dict[str, str] = {}
        if self.dbname:
            if _is_conninfo(self.dbname):
                dsn = self.dbname
            else:
                params["dbname"] = self.dbname
        for key in ("host", "port", "user"):
            value = getattr(self, key)
            if value:
                params[key] = str(value)
        if "application_name" not in conninfo_to_dict(dsn):
            params["application_name"] = APPLICATION_NAME
        params.setdefault("connect_timeout", str(self.connect_timeout_s))
        params.update(override)
        return make_conninfo(dsn, **params)

    def for_database(self, dbname: str) -> ConnectOptions:
        """The same server and role, another database (for running a job where it lives)."""
        return replace(self, dbname=self.conninfo(dbname=dbname))


async def open_connection(opts: ConnectOptions, **override: str) -> psycopg.AsyncConnection:
    """A connection in autocommit that carries no setting of ours (see the module's note):
    run queries on it inside `transaction()`, which applies `opts`' limits."""
    return await psycopg.AsyncConnection.connect(
        opts.conninfo(**override),
        autocommit=True,
        # Unnamed statements only: generic plans are poor for our "param is null or ..."
        # filters, and poolers (PgBouncer, Supavisor) reject named prepared statements.
        prepare_threshold=None,
    )


def is_direct(conn: psycopg.AsyncConnection, server_client_port: int | None) -> bool:
    """Whether nothing stands between this connection and its server backend: the port the
    server sees us connect from (inet_client_port()) is this socket's own. Then a named
    prepared statement stays with this session. Behind a pooler the server sees the
    pooler's port, and a statement prepared in one transaction would be left on a server
    connection the pool hands to another client (PgBouncer before 1.21 in transaction mode
    does not know of it): never there. A Unix socket, NAT or a tunnel cannot be told apart
    from a pooler, and keep the plain path too."""
    if server_client_port is None or conn.pgconn.socket < 0:
        return False
    try:
        with socket.socket(fileno=os.dup(conn.pgconn.socket)) as sock:
            local = sock.getsockname()
    except OSError:
        return False
    return isinstance(local, tuple) and local[1] == server_client_port


#: `timeout_ms` default of `transaction()`: the options' statement timeout.
FROM_OPTIONS = -1


def limits(opts: ConnectOptions, timeout_ms: int | None = FROM_OPTIONS,
           read_only: bool | None = None, planned_once: bool = False) -> dict[str, Any]:
    """session_limits.sql's parameters: the statement timeout and read-only mode of `opts`,
    unless given here (see `transaction()`); `planned_once`: the transaction's prepared
    statements keep their generic plan."""
    if timeout_ms == FROM_OPTIONS:
        timeout_ms = opts.statement_timeout_ms
    return {"timeout": None if timeout_ms is None else str(max(int(timeout_ms), 0)),
            "read_only": bool(opts.read_only if read_only is None else read_only),
            "planned_once": planned_once}


async def read_in_one_trip(conn: psycopg.AsyncConnection, opts: ConnectOptions,
                           statements: Sequence[tuple[sql.SQL, Mapping[str, Any]]], *,
                           rollback: bool = False, prepare: bool = False,
                           ) -> list[list[dict[str, Any]]]:
    """Each statement's rows, read in one transaction with our limits and ONE round trip:
    BEGIN, the limits, the statements and COMMIT (or ROLLBACK) go out together in psycopg's
    pipeline, which syncs once as it ends (a bastion host 30 ms from its database waits 30 ms,
    not 150). On a failure the pipeline skipped the rest, COMMIT too: rolled back, a second
    trip then only. `prepare`: as named prepared statements (only on a connection
    `is_direct()`: see there), each planned once per session (session_limits.sql says why)."""
    cursors = []
    try:
        async with conn.pipeline():
            await conn.execute(query("tx_begin"))
            await conn.execute(query("session_limits"), limits(opts, planned_once=prepare),
                               prepare=prepare)
            for statement, params in statements:
                cursor = conn.cursor(row_factory=dict_row)
                await cursor.execute(statement, params, prepare=prepare)
                cursors.append(cursor)
            await conn.execute(query("tx_rollback" if rollback else "tx_commit"))
    except Exception:
        if not conn.broken and conn.info.transaction_status != TransactionStatus.IDLE:
            await conn.rollback()
        raise
    # Rows where the statement gave columns (a DO block gives none); told by the result's
    # field count, not `description`, which builds its columns anew at each call.
    return [await cursor.fetchall() if cursor.pgresult and cursor.pgresult.nfields else []
            for cursor in cursors]


@asynccontextmanager
async def transaction(conn: psycopg.AsyncConnection, opts: ConnectOptions | None, *,
                      timeout_ms: int | None = FROM_OPTIONS, read_only: bool | None = None,
                      force_rollback: bool = False) -> AsyncIterator[psycopg.AsyncTransaction]:
    """A transaction with our limits set in it, and only in it (SET LOCAL).

    `timeout_ms`: the statement timeout (default: the options'; 0: none; None: the server's
    own). `read_only`: default the options'; True makes the server refuse any write in it.
    Inside a transaction already, it is a savepoint and the limits last to the outer end.
    """
    if opts is None:  # everything given explicitly
        opts = ConnectOptions(statement_timeout_ms=0)
    async with conn.transaction(force_rollback=force_rollback) as tx:
        await conn.execute(query("session_limits"), limits(opts, timeout_ms, read_only))
        yield tx
