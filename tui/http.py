"""HTTP jobs: recognising pg_net calls in a job's command, and sending them with httpx.

A job is an HTTP job when its command calls `net.http_post` or `net.http_get` (pg_net).
`parse_call` finds the call and its arguments as SQL text, named (`url := ...`, `url => ...`)
or positional, at the top level or inside a dollar-quoted body (a DO block). `HttpCall.view()`
is what can be known without a database: literals as values, anything else as its SQL.

`evaluate` resolves the arguments in the job's database, as the job's role, in a read-only
transaction with a statement timeout: the job's own text is only ever run with the job's own
privileges, as pg_cron would run it. `send` then sends that request from this machine with
httpx (a timeout, TLS verification, proxies from the environment, no redirects followed,
at most MAX_BODY bytes of the answer read).

Everything that leaves this module for a screen or a terminal is masked (tui.secrets) and
made inert (tui.text): the values of secret headers, and every value that came from Vault,
are also cut out of whatever the server answers.
"""

from __future__ import annotations

import asyncio
import json
import re
import ssl
import time
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from tui.db.client import Database, DatabaseError, explain
from tui.db.connect import APPLICATION_NAME, open_connection, transaction
from tui.db.queries import query
from tui.models import Job
from tui.secrets import MASK, mask
from tui.text import inert

#: The most of a response body read (the rest is left unread and the body marked cut).
MAX_BODY = 64 * 1024
#: pg_net's default timeout_milliseconds.
DEFAULT_TIMEOUT_MS = 5000
#: Longest expression evaluation allowed in the job's database.
EVAL_TIMEOUT_MS = 5000

PARAMS = {
    "POST": ("url", "body", "params", "headers", "timeout_milliseconds"),
    "GET": ("url", "params", "headers", "timeout_milliseconds"),
}
#: pg_net's defaults, as SQL, for arguments the call leaves out.
DEFAULTS = {
    "POST": {"body": "'{}'::jsonb", "params": "'{}'::jsonb",
             "headers": """'{"Content-Type": "application/json"}'::jsonb""",
             "timeout_milliseconds": str(DEFAULT_TIMEOUT_MS)},
    "GET": {"params": "'{}'::jsonb", "headers": "'{}'::jsonb",
            "timeout_milliseconds": str(DEFAULT_TIMEOUT_MS)},
}

PG_NET_MISSING = ('pg_net is not installed: scheduled runs fail with schema "net" does not '
                  "exist; install pg_net (Supabase ships it)")

# Header names whose values are credentials (the value is masked, the name kept).
_SECRET_HEADER = re.compile(
    r"(?i)^(authorization|proxy-authorization|cookie|set-cookie|apikey|api[-_]?key|"
    r"x-[a-z0-9-]*(key|token|secret|signature)|[a-z0-9-]*(token|secret|password))$")
# URL query parameters whose values are credentials.
_SECRET_PARAM = re.compile(r"(?i)(key|token|secret|sig|signature|password|passwd|auth)")
_SCHEME = re.compile(r"(?i)^(bearer|basic|token)\s+")


# -- reading SQL ------------------------------------------------------------------------

_IDENT_CHAR = re.compile(r"[A-Za-z0-9_$]")
_DOLLAR = re.compile(r"\$([A-Za-z_\x80-\uffff][A-Za-z0-9_\x80-\uffff]*)?\$")


def _skip(text: str, i: int) -> tuple[int, str | None]:
    """If a string, quoted identifier or comment starts at i: the index after it and, for a
    dollar-quoted string, its body. Else (i, None)."""
    ch = text[i]
    if ch == "'":
        escapes = i > 0 and text[i - 1] in "eE" and (i < 2 or not _IDENT_CHAR.match(text[i - 2]))
        j = i + 1
        while j < len(text):
            if escapes and text[j] == "\\":
                j += 2
                continue
            if text[j] == "'":
                if text.startswith("''", j):
                    j += 2
                    continue
                return j + 1, None
            j += 1
        return len(text), None
    if ch == '"':
        j = i + 1
        while j < len(text):
            if text[j] == '"':
                if text.startswith('""', j):
                    j += 2
                    continue
                return j + 1, None
            j += 1
        return len(text), None
    if text.startswith("--", i):
        end = text.find("\n", i)
        return (len(text) if end < 0 else end + 1), None
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return (len(text) if end < 0 else end + 2), None
    if ch == "$" and (i == 0 or not _IDENT_CHAR.match(text[i - 1])):
        m = _DOLLAR.match(text, i)
        if m:
            tag = m.group(0)
            end = text.find(tag, m.end())
            if end < 0:
                return len(text), text[m.end():]
            return end + len(tag), text[m.end():end]
    return i, None


def _split_args(text: str, start: int) -> tuple[list[str], int] | None:
    """The top-level, comma-separated arguments from `start` (just after an opening
    parenthesis) to the matching closing one, and the index after it."""
    args: list[str] = []
    depth, i, begin = 0, start, start
    while i < len(text):
        after, _ = _skip(text, i)
        if after != i:
            i = after
            continue
        ch = text[i]
        if ch in "([":
            depth += 1
        elif ch in ")]":
            if depth == 0:
                last = text[begin:i].strip()
                if last or args:
                    args.append(last)
                return args, i + 1
            depth -= 1
        elif ch == "," and depth == 0:
            args.append(text[begin:i].strip())
            begin = i + 1
        i += 1
    return None


_CALL = re.compile(r'(?i)"?net"?\s*\.\s*"?(http_post|http_get)"?\s*\(')
_NAMED = re.compile(r'^\s*"?([A-Za-z_][A-Za-z0-9_]*)"?\s*(?::=|=>)\s*', re.S)


@dataclass(frozen=True)
class Expr:
    """An argument that is not a literal: shown as its SQL."""

    sql: str

    @property
    def vault_name(self) -> str | None:
        m = re.search(r"(?is)decrypted_secrets\b.*?\bname\s*=\s*'((?:[^']|'')*)'", self.sql)
        return m.group(1).replace("''", "'") if m else None

    @property
    def uses_vault(self) -> bool:
        return bool(re.search(r"(?i)\bvault\s*\.", self.sql))

    def __str__(self) -> str:
        return " ".join(self.sql.split())


@dataclass(frozen=True)
class HttpCall:
    """A pg_net call found in a job's command; the arguments are SQL text (None: left out,
    pg_net's default applies)."""

    method: str  # "POST" or "GET"
    url_expr: str
    headers_expr: str | None = None
    body_expr: str | None = None
    params_expr: str | None = None
    timeout_expr: str | None = None
    calls: int = 1  # how many pg_net calls the command makes (the first one is this)

    @property
    def timeout_ms(self) -> int | None:
        """The timeout when it is written as a literal (or left out: pg_net's default)."""
        if self.timeout_expr is None:
            return DEFAULT_TIMEOUT_MS
        value = literal(self.timeout_expr)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def expr(self, name: str) -> str:
        """The argument's SQL, or pg_net's default for it."""
        given = {"url": self.url_expr, "headers": self.headers_expr, "body": self.body_expr,
                 "params": self.params_expr, "timeout_milliseconds": self.timeout_expr}[name]
        if given is not None:
            return given
        return DEFAULTS[self.method].get(name, "null")

    def view(self) -> RequestView:
        """What can be shown without a database: literal values, else the SQL; masked."""
        url = literal(self.url_expr)
        headers = _jsonb(literal(self.expr("headers")))
        params = _jsonb(literal(self.expr("params")))
        body = _jsonb(literal(self.expr("body"))) if self.method == "POST" else None
        timeout = self.timeout_ms
        return RequestView(
            method=self.method,
            url=_mask_url(url) if isinstance(url, str) else _shown_expr(url),
            headers=_static_pairs(headers),
            params=_static_pairs(params),
            body=_static_body(body) if self.method == "POST" else None,
            timeout_ms=timeout,
            timeout_text=(f"{timeout} ms" if timeout is not None
                          else _shown_expr(Expr(self.timeout_expr or ""))),
            source="as written, not evaluated",
        )


def _jsonb(value: Any) -> Any:
    """An untyped string literal given for a jsonb argument is read as JSON, as the server
    would read it."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return Expr(json.dumps(value))
    return value


def parse_call(command: str | None) -> HttpCall | None:
    """The first net.http_post / net.http_get call in the command, or None."""
    if not command or not _CALL.search(command):
        return None  # no call anywhere, dollar-quoted bodies included: no need to walk it
    found = _find_calls(command)
    if not found:
        return None
    method, args = found[0]
    names = PARAMS[method]
    values: dict[str, str] = {}
    for position, arg in enumerate(args):
        m = _NAMED.match(arg)
        if m and m.group(1).lower() in names:
            values[m.group(1).lower()] = arg[m.end():].strip()
        elif position < len(names):
            values[names[position]] = arg
    if "url" not in values:
        return None
    return HttpCall(method=method, url_expr=values["url"], headers_expr=values.get("headers"),
                    body_expr=values.get("body") if method == "POST" else None,
                    params_expr=values.get("params"),
                    timeout_expr=values.get("timeout_milliseconds"), calls=len(found))


def is_http_job(command: str | None) -> bool:
    return parse_call(command) is not None


def _find_calls(text: str) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    bodies: list[str] = []
    i = 0
    while i < len(text):
        m = _CALL.match(text, i)  # first: `"net"."http_post"(` starts like a quoted name
        if m and (i == 0 or not _IDENT_CHAR.match(text[i - 1])):
            split = _split_args(text, m.end())
            if split is not None:
                method = "POST" if m.group(1).lower() == "http_post" else "GET"
                found.append((method, split[0]))
                i = split[1]
                continue
        after, body = _skip(text, i)
        if after != i:
            if body is not None:
                bodies.append(body)
            i = after
            continue
        i += 1
    if not found:  # a DO block or a function body: look inside the dollar-quoted text
        for body in bodies:
            found += _find_calls(body)
    return found


_CAST = re.compile(r"(?is)^(.*?)\s*::\s*(?:text|varchar|jsonb|json|int|integer|int4|bigint|"
                   r"character varying)\s*$")


def literal(expr: str | None) -> Any:
    """The value of a literal argument (a string, a number, a JSON literal, a
    jsonb_build_object of literals), else an Expr. JSON objects keep Expr values inside."""
    if expr is None:
        return None
    text = expr.strip()
    while True:  # outer parentheses and casts
        m = _CAST.match(text)
        if m:
            text = m.group(1).strip()
            continue
        if text.startswith("(") and text.endswith(")"):
            inner = _split_args(text, 1)
            if inner is not None and inner[1] == len(text) and len(inner[0]) == 1:
                text = inner[0][0]
                continue
        break
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    string = _string(text)
    if string is not None:
        if expr.strip().lower().rstrip().endswith(("jsonb", "json")):
            try:
                return json.loads(string)
            except ValueError:
                return Expr(expr)
        return string
    m = re.match(r"(?i)(jsonb?_build_object)\s*\(", text)
    if m:
        split = _split_args(text, m.end())
        if split is not None and split[1] == len(text) and len(split[0]) % 2 == 0:
            pairs = split[0]
            out: dict[str, Any] = {}
            for key, value in zip(pairs[::2], pairs[1::2]):
                name = literal(key)
                if not isinstance(name, str):
                    return Expr(expr)
                out[name] = literal(value)
            return out
    if text.lower() == "null":
        return None
    return Expr(expr)


def _string(text: str) -> str | None:
    """The value of a whole-string literal: '...', E'...' or $tag$...$tag$."""
    if not text:
        return None
    start = 1 if text[0] in "eE" and text[1:2] == "'" else 0
    if text[start] == "'":
        end, _ = _skip(text, start)
        if end != len(text) or not text.endswith("'"):
            return None
        inner = text[start + 1:-1].replace("''", "'")
        if start:
            inner = inner.encode("latin-1", "backslashreplace").decode("unicode_escape")
        return inner
    if text[0] == "$":
        end, body = _skip(text, 0)
        if end == len(text) and body is not None:
            return body
    return None


# -- what is shown ------------------------------------------------------------------------


@dataclass
class RequestView:
    """A request as it may be shown: every value masked, every string inert."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    params: list[tuple[str, str]]
    body: str | None
    timeout_ms: int | None
    timeout_text: str
    source: str

    def as_json(self) -> dict[str, Any]:
        return {"method": self.method, "url": self.url, "headers": dict(self.headers),
                "params": dict(self.params), "body": self.body, "timeout_ms": self.timeout_ms,
                "source": self.source}

    def lines(self) -> list[str]:
        out = [f"{self.method} {self.url}"]
        out += [f"  {name}: {value}" for name, value in self.headers]
        if self.params:
            out.append("params: " + ", ".join(f"{k}={v}" for k, v in self.params))
        if self.body is not None:
            out.append(f"body: {self.body}")
        out.append(f"timeout: {self.timeout_text}")
        return out


def _shown(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    return inert(mask(redact(text, secrets)) or "")


def redact(text: str, secrets: list[str] | tuple[str, ...]) -> str:
    """The text with each known secret value cut out (longest first)."""
    for secret in sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _shown_expr(value: Any) -> str:
    if isinstance(value, Expr):
        if value.vault_name is not None and re.fullmatch(
                r"(?is)\(?\s*select\s+decrypted_secret\s+from\s+vault\.decrypted_secrets\s+"
                r"where\s+name\s*=\s*'(?:[^']|'')*'\s*(limit\s+1\s*)?\)?", value.sql.strip()):
            return f"{{vault secret {value.vault_name!r}}}"
        return f"{{SQL: {_shown(str(value))}}}"
    if isinstance(value, str):
        return _shown(value)
    return _shown(json.dumps(value, ensure_ascii=False))


def _secret_value(name: str, value: str) -> str:
    scheme = _SCHEME.match(value)
    return f"{scheme.group(0) if scheme else ''}{MASK}"


def _static_pairs(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out = []
        for name, v in value.items():
            if isinstance(v, Expr):
                shown = _shown_expr(v)
            elif _SECRET_HEADER.match(name) and isinstance(v, str):
                shown = _secret_value(name, v)
            else:
                shown = _shown_expr(v)
            out.append((_shown(name), shown))
        return out
    if value is None or value == {}:
        return []
    return [("(all)", _shown_expr(value if isinstance(value, Expr) else Expr(str(value))))]


def _static_body(value: Any) -> str | None:
    if isinstance(value, Expr):
        return _shown_expr(value)
    return _shown(json.dumps(_json_safe(value), ensure_ascii=False))


def _json_safe(value: Any) -> Any:
    if isinstance(value, Expr):
        return _shown_expr(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def _mask_url(url: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    try:
        parsed = httpx.URL(url)
        if parsed.query:
            pairs = [(k, MASK if _SECRET_PARAM.search(k) else v)
                     for k, v in parsed.params.multi_items()]
            url = str(parsed.copy_with(params=pairs)).replace("%E2%80%A2", "•")
    except (httpx.InvalidURL, ValueError, TypeError):
        pass
    return _shown(url, secrets)


# -- evaluating in the job's database -----------------------------------------------------


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
            if _SECRET_HEADER.match(name) or mask(value) != value:
                found.append(value)
                found.append(_SCHEME.sub("", value))
        for name, value in self.params.items():
            if _SECRET_PARAM.search(name):
                found.append(value)
        return tuple(s for s in found if s)

    def view(self) -> RequestView:
        secrets = self.secrets()
        headers = [(_shown(k), _secret_value(k, v) if _SECRET_HEADER.match(k)
                    else _shown(v, secrets)) for k, v in self.headers.items()]
        params = [(_shown(k), MASK if _SECRET_PARAM.search(k) else _shown(v, secrets))
                  for k, v in self.params.items()]
        body = None
        if self.method == "POST":
            body = _shown(json.dumps(self.body, ensure_ascii=False), secrets)
        return RequestView(method=self.method, url=_mask_url(self.url, secrets),
                           headers=headers, params=params, body=body,
                           timeout_ms=self.timeout_ms, timeout_text=f"{self.timeout_ms} ms",
                           source=self.source)


class NeedsConfirmation(DatabaseError):
    """The job's role may not log in: evaluating its arguments another way needs a yes."""

    def __init__(self, job: Job, user: str, reason: str, *, can_set_role: bool):
        how = (f"{user} could take on {job.username} with SET ROLE, but the arguments could "
               f"undo that" if can_set_role else f"they would be evaluated as {user}")
        super().__init__(f"cannot log in as {job.username} to evaluate the HTTP call of job "
                         f"{job.label} ({reason}); {how}", sqlstate="42501")
        self.role = job.username
        self.user = user
        self.can_set_role = can_set_role


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
    opts = replace(db.opts.for_database(job.database), statement_timeout_ms=timeout_ms)
    name = f"{APPLICATION_NAME} http of job {job.jobid}"
    conn: psycopg.AsyncConnection | None = None
    refused = None
    try:
        try:
            conn = await open_connection(opts, user=job.username, application_name=name)
        except psycopg.Error as exc:
            refused = (str(exc).strip().splitlines() or ["refused"])[0]
            try:
                conn = await open_connection(opts, application_name=name)
            except psycopg.Error as exc2:
                first = (str(exc2).strip().splitlines() or ["connection failed"])[0]
                raise DatabaseError(f"could not connect to database {job.database!r} to "
                                    f"evaluate job {job.label}: {first}") from exc2
        return await asyncio.wait_for(
            _evaluate_on(conn, job, call, as_self=as_self, refused=refused,
                         timeout_ms=timeout_ms),
            timeout_ms / 1000 + opts.connect_timeout_s + 2)
    except (psycopg.Error, TimeoutError, asyncio.TimeoutError) as exc:
        raise explain(exc) from exc
    finally:
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except Exception:  # noqa: S110  # closing a broken connection may fail; it is gone
                pass


async def _evaluate_on(conn: psycopg.AsyncConnection, job: Job, call: HttpCall, *,
                       as_self: bool, refused: str | None, timeout_ms: int) -> Request:
    # All in one read-only transaction that is rolled back, the role taken with SET LOCAL:
    # nothing of it outlives the transaction (a pooler hands the connection on after it).
    async with transaction(conn, None, timeout_ms=timeout_ms, read_only=True,
                           force_rollback=True):
        return await _evaluate_in(conn, job, call, as_self=as_self, refused=refused)


async def _evaluate_in(conn: psycopg.AsyncConnection, job: Job, call: HttpCall, *,
                       as_self: bool, refused: str | None) -> Request:
    cur = await conn.execute("select current_user")
    row = await cur.fetchone()
    user = str(row[0]) if row else "this login"
    role = user
    if user != job.username:
        try:
            async with conn.transaction():  # a savepoint: a refusal leaves the outer one usable
                await conn.execute(sql.SQL("set local role {}").format(
                    sql.Identifier(job.username)))
            can_set_role = True
        except psycopg.errors.InsufficientPrivilege:
            can_set_role = False
        if not as_self:
            raise NeedsConfirmation(job, user, refused or "login refused",
                                    can_set_role=can_set_role)
        if can_set_role:
            role = f"{job.username} (via SET ROLE by {user})"
    # The job's own text, run with the job's own privileges only: one statement (the
    # extended protocol refuses more), read-only, rolled back, under a statement timeout.
    evaluation = sql.SQL(
        # Each expression on lines of its own: a trailing -- comment in one ends there.
        "select (\n{url}\n)::text as url, (\n{headers}\n)::jsonb as headers, "
        "(\n{body}\n)::jsonb as body, (\n{params}\n)::jsonb as params, "
        "(\n{timeout}\n)::int as timeout_ms"
    ).format(
        url=sql.SQL(call.url_expr),  # type: ignore[arg-type]  # the job's own SQL
        headers=sql.SQL(call.expr("headers")),  # type: ignore[arg-type]
        body=sql.SQL(call.expr("body") if call.method == "POST" else "null"),  # type: ignore[arg-type]
        params=sql.SQL(call.expr("params")),  # type: ignore[arg-type]
        timeout=sql.SQL(call.expr("timeout_milliseconds")),  # type: ignore[arg-type]
    )
    async with conn.cursor(row_factory=dict_row) as cur2:
        await cur2.execute(evaluation, binary=True)
        values = await cur2.fetchone()
    assert values is not None
    vault_values = await _vault_secrets(conn, call)
    if values["url"] is None:
        raise DatabaseError(f"the URL of job {job.label}'s HTTP call evaluates to null")
    headers = values["headers"] or {}
    params = values["params"] or {}
    if not isinstance(headers, dict) or not isinstance(params, dict):
        raise DatabaseError(f"the headers and params of job {job.label}'s HTTP call must be "
                            "JSON objects")
    # Values from Vault (or any other expression) inside the headers are secrets too, and
    # so is every Vault value the call reads, wherever it lands (URL, params, body).
    vaulted = _vault_values(call, headers) + vault_values
    return Request(
        method=call.method, url=values["url"],
        headers={str(k): _stringify(v) for k, v in headers.items()},
        body=values["body"], params={str(k): _stringify(v) for k, v in params.items()},
        timeout_ms=values["timeout_ms"] if values["timeout_ms"] is not None
        else DEFAULT_TIMEOUT_MS,
        secret_values=vaulted,
        source=f"evaluated in database {job.database} as {role}",
    )


_VAULT_NAME = re.compile(
    r"(?is)decrypted_secrets\b.{0,400}?\bname\s*=\s*'((?:[^']|''){1,200})'")


def _call_sql(call: HttpCall) -> str:
    return "\n".join(e for e in (call.url_expr, call.headers_expr, call.body_expr,
                                 call.params_expr, call.timeout_expr) if e)


async def _vault_secrets(conn: psycopg.AsyncConnection, call: HttpCall) -> tuple[str, ...]:
    """The values of the Vault secrets the call reads (by the names it looks up; all this
    role may read when it names none), to be cut out of everything shown. Read in a
    savepoint: a role that may not read them leaves the evaluation as it was."""
    text = _call_sql(call)
    if not re.search(r"(?i)\bvault\s*\.", text):
        return ()
    names = sorted({m.group(1).replace("''", "'") for m in _VAULT_NAME.finditer(text)})
    try:
        async with conn.transaction():
            cur = await conn.execute(query("http_vault_values"), {"names": names})
            rows = await cur.fetchall()
    except psycopg.Error:
        return ()
    return tuple(str(row[0]) for row in rows if row[0])


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
                found += [evaluated, _SCHEME.sub("", evaluated)]
    return tuple(found)


# -- sending ---------------------------------------------------------------------------------


@dataclass
class HttpResult:
    """The answer to one send, fit to show: masked and inert throughout."""

    request: RequestView
    status: int | None = None
    reason: str | None = None
    latency_ms: float | None = None  # until the response's headers arrived
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: str = ""  # the start of the body, decoded, masked, inert
    body_bytes: int = 0  # how many bytes were read
    truncated: bool = False  # the body went on past MAX_BODY and was not read
    location: str | None = None  # a redirect's target (not followed)
    error: str | None = None  # a sentence: why no answer came
    error_kind: str | None = None  # timeout, refused, tls, dns, invalid, connection

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < 400

    @property
    def redirect(self) -> bool:
        return self.status is not None and 300 <= self.status < 400

    def summary(self) -> str:
        if self.error is not None:
            return self.error
        line = f"{self.status} {self.reason or ''}".rstrip()
        line += f" in {self.latency_ms:.0f} ms"
        if self.redirect:
            line += f"; redirect to {self.location or '(no Location)'}, not followed"
        return line

    def as_json(self) -> dict[str, Any]:
        return {"request": self.request.as_json(), "status": self.status, "reason": self.reason,
                "latency_ms": None if self.latency_ms is None else round(self.latency_ms, 1),
                "headers": [list(h) for h in self.headers], "body": self.body,
                "body_bytes": self.body_bytes, "truncated": self.truncated,
                "location": self.location, "error": self.error, "error_kind": self.error_kind,
                "ok": self.ok}


def _failure(exc: BaseException, url: str, timeout_s: float) -> tuple[str, str]:
    where = url
    try:
        parsed = httpx.URL(url)
        where = f"{parsed.host}:{parsed.port or (443 if parsed.scheme == 'https' else 80)}"
    except (httpx.InvalidURL, ValueError, TypeError):
        pass
    if isinstance(exc, (httpx.TimeoutException, TimeoutError, asyncio.TimeoutError)):
        return "timeout", (f"timeout: no complete answer from {where} within {timeout_s:g} s "
                           "(the call's timeout_milliseconds)")
    if isinstance(exc, (httpx.UnsupportedProtocol, httpx.InvalidURL)):
        return "invalid", f"invalid URL: {exc}"
    text = str(exc)
    chain: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(chain) < 10:
        chain.append(cause)
        cause = cause.__cause__ or cause.__context__
    for link in chain:
        if isinstance(link, ssl.SSLCertVerificationError):
            detail = link.verify_message or link.reason or str(link)
            return "tls", (f"TLS failure: the certificate of {where} was refused ({detail}); "
                           "TLS verification is on")
        if isinstance(link, ssl.SSLError):
            return "tls", f"TLS failure talking to {where}: {link.reason or link}"
        if isinstance(link, ConnectionRefusedError):
            return "refused", f"connection refused: nothing accepts connections at {where}"
    lowered = text.lower()
    if "connection refused" in lowered or "errno 111" in lowered:
        return "refused", f"connection refused: nothing accepts connections at {where}"
    if "certificate" in lowered or "ssl" in lowered:
        return "tls", f"TLS failure talking to {where}: {text}"
    if "name or service not known" in lowered or "nodename nor servname" in lowered or \
            "temporary failure in name resolution" in lowered:
        return "dns", f"could not resolve the host of {where}: {text}"
    if isinstance(exc, httpx.LocalProtocolError):
        return "invalid", f"the request could not be sent as given: {text}"
    if isinstance(exc, httpx.HTTPError):
        return "connection", f"no answer from {where}: {text or type(exc).__name__}"
    return "connection", f"sending failed: {text or type(exc).__name__}"


async def send(request: Request, *, max_body: int = MAX_BODY,
               verify: bool | ssl.SSLContext = True) -> HttpResult:
    """Send the request from this machine: TLS verification on, proxies from the
    environment, redirects reported but not followed, the call's timeout for the whole
    exchange, at most `max_body` bytes of the answer read. Never raises for the network's
    failures: they are in `error`."""
    view = request.view()
    secrets = request.secrets()
    result = HttpResult(request=view)
    timeout_s = max(request.timeout_ms, 1) / 1000
    content = None
    if request.method == "POST":
        content = json.dumps(request.body, ensure_ascii=False).encode()

    async def exchange() -> None:
        async with httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), verify=verify,
                                     trust_env=True, follow_redirects=False) as client:
            built = client.build_request(request.method, request.url,
                                         headers=request.headers,
                                         params=request.params or None, content=content)
            started = time.perf_counter()
            response = await client.send(built, stream=True)
            try:
                result.latency_ms = (time.perf_counter() - started) * 1000
                result.status = response.status_code
                result.reason = _shown(response.reason_phrase, secrets)
                result.headers = [
                    (_shown(k), MASK if _SECRET_HEADER.match(k) else _shown(v, secrets))
                    for k, v in response.headers.multi_items()]
                if result.redirect and "location" in response.headers:
                    result.location = _mask_url(response.headers["location"], secrets)
                chunks: list[bytes] = []
                read = 0
                async for chunk in response.aiter_bytes():
                    chunks.append(chunk)
                    read += len(chunk)
                    if read > max_body:
                        result.truncated = True
                        break
                raw = b"".join(chunks)[:max_body]
                result.body_bytes = len(raw)
                result.body = _shown(raw.decode(response.encoding or "utf-8", "replace"),
                                     secrets)
            finally:
                await response.aclose()

    try:
        await asyncio.wait_for(exchange(), timeout_s + 0.5)
    except (httpx.HTTPError, OSError, ssl.SSLError, TimeoutError, asyncio.TimeoutError,
            ValueError) as exc:
        if result.status is not None and isinstance(
                exc, (httpx.TimeoutException, TimeoutError, asyncio.TimeoutError)):
            result.truncated = True  # headers came, the body did not finish in time
            result.error_kind = "timeout"
            result.error = (f"timeout: the body did not finish within {timeout_s:g} s; "
                            "showing the status and headers only")
            return result
        result.status = result.reason = result.latency_ms = None
        result.headers = []
        kind, sentence = _failure(exc, request.url, timeout_s)
        result.error_kind = kind
        result.error = _shown(sentence, secrets)
    return result


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
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query("http_pg_net"))
        presence = await cur.fetchone()
    if not presence or not presence["has_responses"]:
        return PgNetState(False, None, note=PG_NET_MISSING)
    try:
        # A savepoint: a refusal leaves the caller's transaction usable.
        async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
            await cur.execute(query("http_responses"), {"since": since, "limit": limit})
            rows = await cur.fetchall()
    except psycopg.errors.InsufficientPrivilege:
        return PgNetState(True, presence["extversion"],
                          note="this role may not read net._http_response")
    responses = [PgNetResponse(id=r["id"], status_code=r["status_code"],
                               timed_out=r["timed_out"], error=_shown(r["error_msg"] or "")
                               or None, content=_shown(r["content"] or "") or None,
                               created=r["created"]) for r in rows]
    note = ("pg_cron does not record pg_net's request id: these are pg_net's answers created "
            "since the job's recent runs started, matched by time only (other callers of "
            "pg_net in that window show here too); pg_net keeps them for pg_net.ttl (6 h)")
    if not responses:
        note = "pg_net has no answers in that window (they are kept for pg_net.ttl, 6 h)"
    return PgNetState(True, presence["extversion"], responses, note)


async def job_pg_net_state(db: Database, job: Job, *, current_database: str | None,
                           since: Any = None, limit: int = 10) -> PgNetState:
    """pg_net_state in the job's database, on this login (static queries only): on the
    session itself when the job lives in its database, else on a connection of its own."""
    async def work(conn: psycopg.AsyncConnection) -> PgNetState:
        return await pg_net_state(conn, since=since, limit=limit)

    if current_database == job.database:
        return await db.with_connection(work)
    try:
        opts = db.opts.for_database(job.database)
        conn = await open_connection(opts)
        try:
            async def limited(conn: psycopg.AsyncConnection) -> PgNetState:
                async with transaction(conn, opts):
                    return await work(conn)

            return await asyncio.wait_for(limited(conn), db.deadline_s)
        finally:
            await conn.close()
    except (psycopg.Error, TimeoutError, asyncio.TimeoutError) as exc:
        raise explain(exc) from exc
