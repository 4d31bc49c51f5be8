"""An HTTP job's request evaluated in the job's database, and pg_net's answers there.

`evaluate` resolves the call's arguments in the job's database, as the job's role, in a
read-only transaction with a statement timeout (tui.db.pg_net, tui.db.as_role): the job's
own text is only ever run with the job's own privileges, as pg_cron would run it. The
Request it returns holds secrets; only its `view()` is shown.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tui.db import pg_net
from tui.db.client import Database, DatabaseError
from tui.http_jobs.parse import DEFAULT_TIMEOUT_MS, Expr, HttpCall, literal, parse_call
from tui.http_jobs.view import (
    SCHEME,
    SECRET_HEADER,
    SECRET_PARAM,
    RequestView,
    mask_url,
    secret_value,
    shown,
)
from tui.masking import MASK, mask
from tui.models import Job

#: Longest expression evaluation allowed in the job's database.
EVAL_TIMEOUT_MS = 5000

PG_NET_MISSING = ('pg_net is not installed: scheduled runs fail with schema "net" does not '
                  "exist; install pg_net (Supabase ships it)")


@dataclass
class Request:
    """A request as pg_net would send it. Holds secrets: show only `view()`."""

    method: str
    url: str
    headers: dict[str, str] = field(repr=False)
    body: Any = field(repr=False)
    params: dict[str, str] = field(repr=False)
    timeout_ms: int = DEFAULT_TIMEOUT_MS
    secret_values: tuple[str, ...] = field(default=(), repr=False)
    source: str = ""

    def secrets(self) -> tuple[str, ...]:
        """Values never to show: secret headers (with and without their scheme), values
        from Vault, and secret URL parameters."""
        found = list(self.secret_values)
        for name, value in self.headers.items():
            if SECRET_HEADER.match(name) or mask(value) != value:
                found.append(value)
                found.append(SCHEME.sub("", value))
        for name, value in self.params.items():
            if SECRET_PARAM.search(name):
                found.append(value)
        return tuple(s for s in found if s)

    def view(self) -> RequestView:
        secrets = self.secrets()
        headers = [(shown(k), secret_value(k, v) if SECRET_HEADER.match(k)
                    else shown(v, secrets)) for k, v in self.headers.items()]
        params = [(shown(k), MASK if SECRET_PARAM.search(k) else shown(v, secrets))
                  for k, v in self.params.items()]
        body = None
        if self.method == "POST":
            body = shown(json.dumps(self.body, ensure_ascii=False), secrets)
        return RequestView(method=self.method, url=mask_url(self.url, secrets),
                           headers=headers, params=params, body=body,
                           timeout_ms=self.timeout_ms, timeout_text=f"{self.timeout_ms} ms",
                           source=self.source)


def _stringify(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def evaluate(db: Database, job: Job, call: HttpCall | None = None, *,
                   as_self: bool = False, timeout_ms: int = EVAL_TIMEOUT_MS) -> Request:
    """The call's arguments as pg_net would see them, evaluated in the job's database as the
    job's role (logged in as it, as pg_cron does), in a read-only transaction that is rolled
    back, under a statement timeout. When that login is refused: NeedsConfirmation, unless
    `as_self` (then SET ROLE when this login may, else this login)."""
    call = call or parse_call(job.command)
    if call is None:
        raise DatabaseError(f"job {job.label} makes no HTTP call (net.http_post or "
                            "net.http_get)")
    exprs = {"url": call.url_expr, "headers": call.expr("headers"),
             "body": call.expr("body") if call.method == "POST" else "null",
             "params": call.expr("params"), "timeout": call.expr("timeout_milliseconds")}
    done = await pg_net.evaluate_call(db, job, exprs, vault_names=_vault_names(call),
                                      as_self=as_self, timeout_ms=timeout_ms)
    values = done.values
    if values["url"] is None:
        raise DatabaseError(f"the URL of job {job.label}'s HTTP call evaluates to null")
    headers = values["headers"] or {}
    params = values["params"] or {}
    if not isinstance(headers, dict) or not isinstance(params, dict):
        raise DatabaseError(f"the headers and params of job {job.label}'s HTTP call must be "
                            "JSON objects")
    # Values from Vault (or any other expression) inside the headers are secrets too, and
    # so is every Vault value the call reads, wherever it lands (URL, params, body).
    vaulted = _vault_values(call, headers) + done.vault_values
    return Request(
        method=call.method, url=values["url"],
        headers={str(k): _stringify(v) for k, v in headers.items()},
        body=values["body"], params={str(k): _stringify(v) for k, v in params.items()},
        timeout_ms=values["timeout_ms"] if values["timeout_ms"] is not None
        else DEFAULT_TIMEOUT_MS,
        secret_values=vaulted,
        source=f"evaluated in database {job.database} as {done.role}",
    )


_VAULT_NAME = re.compile(
    r"(?is)decrypted_secrets\b.{0,400}?\bname\s*=\s*'((?:[^']|''){1,200})'")


def _call_sql(call: HttpCall) -> str:
    return "\n".join(e for e in (call.url_expr, call.headers_expr, call.body_expr,
                                 call.params_expr, call.timeout_expr) if e)


def _vault_names(call: HttpCall) -> list[str] | None:
    """The names of the Vault secrets the call reads, to cut their values out of everything
    shown ([]: it reads Vault by no name, so all this role may read; None: no Vault)."""
    text = _call_sql(call)
    if not re.search(r"(?i)\bvault\s*\.", text):
        return None
    return sorted({m.group(1).replace("''", "'") for m in _VAULT_NAME.finditer(text)})


def _vault_values(call: HttpCall, headers: dict[str, Any]) -> tuple[str, ...]:
    """Evaluated header values whose SQL reads Vault."""
    static = literal(call.expr("headers"))
    found: list[str] = []
    if isinstance(static, Expr) and static.uses_vault:
        return tuple(_stringify(v) for v in headers.values())
    if isinstance(static, dict):
        for name, value in static.items():
            if isinstance(value, Expr) and value.uses_vault and name in headers:
                evaluated = _stringify(headers[name])
                found += [evaluated, SCHEME.sub("", evaluated)]
    return tuple(found)


# -- pg_net's own answers -------------------------------------------------------------------


@dataclass
class PgNetResponse:
    id: int
    status_code: int | None
    timed_out: bool | None
    error: str | None  # masked, inert
    content: str | None  # the start, masked, inert
    created: Any


@dataclass
class PgNetState:
    installed: bool  # net._http_response exists in the job's database
    version: str | None  # pg_net's extversion (None also for a stand-in table)
    responses: list[PgNetResponse] = field(default_factory=list)
    note: str = ""  # a sentence for the operator


async def pg_net_state(conn: psycopg.AsyncConnection, *, since: Any = None,
                       limit: int = 10) -> PgNetState:
    """Whether pg_net is there, and its recent answers. pg_cron records no request id, so
    they are matched to a job's runs by time only."""
    return _state_of(await pg_net.pg_net_rows(conn, since=since, limit=limit))


def _state_of(found: pg_net.PgNetRows) -> PgNetState:
    if not found.installed:
        return PgNetState(False, None, note=PG_NET_MISSING)
    if found.rows is None:
        return PgNetState(True, found.version,
                          note="this role may not read net._http_response")
    responses = [PgNetResponse(id=r["id"], status_code=r["status_code"],
                               timed_out=r["timed_out"], error=shown(r["error_msg"] or "")
                               or None, content=shown(r["content"] or "") or None,
                               created=r["created"]) for r in found.rows]
    note = ("pg_cron does not record pg_net's request id: these are pg_net's answers created "
            "since the job's recent runs started, matched by time only (other callers of "
            "pg_net in that window show here too); pg_net keeps them for pg_net.ttl (6 h)")
    if not responses:
        note = "pg_net has no answers in that window (they are kept for pg_net.ttl, 6 h)"
    return PgNetState(True, found.version, responses, note)


async def job_pg_net_state(db: Database, job: Job, *, current_database: str | None,
                           since: Any = None, limit: int = 10) -> PgNetState:
    """pg_net_state in the job's database, on this login (static queries only): on the
    session itself when the job lives in its database, else on a connection of its own."""
    if current_database == job.database:
        return _state_of(await pg_net.session_pg_net_rows(db, since=since, limit=limit))

    async def work(conn: psycopg.AsyncConnection) -> PgNetState:
        return await pg_net_state(conn, since=since, limit=limit)

    return await pg_net.in_job_database(db, job, work, current_database=current_database)
