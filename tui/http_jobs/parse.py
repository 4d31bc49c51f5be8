"""Reading an HTTP job's command: SQL lexing, the net.http_post / net.http_get call (pg_net)
and its arguments as SQL text, and what can be shown of them without a database.

`parse_call` finds the call and its arguments, named (`url := ...`, `url => ...`) or
positional, at the top level or inside a dollar-quoted body (a DO block). `HttpCall.view()`
is what can be known without a database: literals as values, anything else as its SQL,
masked and inert (tui.http_jobs.view).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from tui.http_jobs.view import SECRET_HEADER, RequestView, mask_url, secret_value, shown

#: pg_net's default timeout_milliseconds.
DEFAULT_TIMEOUT_MS = 5000

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
            url=mask_url(url) if isinstance(url, str) else _shown_expr(url),
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


# -- what is shown of a call as written --------------------------------------------------


def _shown_expr(value: Any) -> str:
    if isinstance(value, Expr):
        if value.vault_name is not None and re.fullmatch(
                r"(?is)\(?\s*select\s+decrypted_secret\s+from\s+vault\.decrypted_secrets\s+"
                r"where\s+name\s*=\s*'(?:[^']|'')*'\s*(limit\s+1\s*)?\)?", value.sql.strip()):
            return f"{{vault secret {value.vault_name!r}}}"
        return f"{{SQL: {shown(str(value))}}}"
    if isinstance(value, str):
        return shown(value)
    return shown(json.dumps(value, ensure_ascii=False))


def _static_pairs(value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out = []
        for name, v in value.items():
            if isinstance(v, Expr):
                text = _shown_expr(v)
            elif SECRET_HEADER.match(name) and isinstance(v, str):
                text = secret_value(name, v)
            else:
                text = _shown_expr(v)
            out.append((shown(name), text))
        return out
    if value is None or value == {}:
        return []
    return [("(all)", _shown_expr(value if isinstance(value, Expr) else Expr(str(value))))]


def _static_body(value: Any) -> str | None:
    if isinstance(value, Expr):
        return _shown_expr(value)
    return shown(json.dumps(_json_safe(value), ensure_ascii=False))


def _json_safe(value: Any) -> Any:
    if isinstance(value, Expr):
        return _shown_expr(value)
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value

