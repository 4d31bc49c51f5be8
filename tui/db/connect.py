"""Connection options in psql's manner, and opening a session with our safety settings."""

from __future__ import annotations

from dataclasses import dataclass, replace

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

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
    conn = await psycopg.AsyncConnection.connect(
        opts.conninfo(**override),
        autocommit=True,
        # Unnamed statements only: generic plans are poor for our "param is null or ..."
        # filters, and poolers (PgBouncer, Supavisor) reject named prepared statements.
        prepare_threshold=None,
    )
    await conn.execute(
        "select set_config('statement_timeout', %s, false)", [str(opts.statement_timeout_ms)]
    )
    if opts.read_only:
        await conn.execute("set default_transaction_read_only = on")
    return conn
