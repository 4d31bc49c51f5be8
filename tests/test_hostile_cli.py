"""Hostile database text through every subcommand and through the app in a real terminal.

The corpus (tests/corpus/hostile.py) is put on the real cluster; each subcommand runs as a
script would run it, and its stdout and stderr are searched for the corpus's control
sequences: none may be there, escaped text must. The app then runs in a pseudo-terminal,
as over SSH, and the bytes it writes there are searched the same way.
"""

from __future__ import annotations

import fcntl
import os
import pty
import signal
import struct
import subprocess
import sys
import termios
import time
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.corpus import hostile
from tui.text import InertWriter, inert, one_line, plain

# -- the rule itself -----------------------------------------------------------------------


def test_every_format_character_is_shown_escaped() -> None:
    """Whatever Unicode this Python knows: no format, line or paragraph separator (zero
    widths, bidi controls, tags, BOM) and no control character passes as it is."""
    unsafe = [chr(c) for c in range(sys.maxunicode + 1)
              if unicodedata.category(chr(c)) in ("Cc", "Cf", "Zl", "Zp", "Cs")
              and chr(c) not in "\n\t"]
    assert not [hex(ord(c)) for c in unsafe if inert(c) == c]
    assert not [hex(ord(c)) for c in unsafe + ["\n", "\t"] if one_line(c) == c]


@pytest.mark.parametrize("text", hostile.texts())
def test_the_rule_is_applied_once_and_for_all(text: str) -> None:
    shown = inert(text)
    assert inert(shown) == shown  # nothing left to escape: twice is once
    assert one_line(one_line(text)) == one_line(text)
    assert "\n" not in one_line(text)
    assert not hostile.leaks(shown, allow_escapes=False)
    assert plain(text).plain == shown.expandtabs(4)  # and Text never reads markup
    if text in hostile.MARKUP:
        assert plain(text).plain == text


def test_escapes_say_what_was_there() -> None:
    assert inert("a\x1b]52;c;x\x07\u202eb\r") == "a\\x1b]52;c;x\\x07\\u202eb\\r"
    assert one_line("one\ntwo\tthree") == "one\\ntwo\\tthree"
    assert inert("tags\U000e0041") == "tags\\U000e0041"
    assert inert("夜間 🧹 café") == "夜間 🧹 café"  # wide and combined characters stay


def test_the_headless_writer_escapes_whatever_is_printed() -> None:
    class Sink:
        written = ""

        def write(self, text: str) -> int:
            self.written += text
            return len(text)

    sink = Sink()
    print(hostile.CONTROL[5], "[b]x", file=InertWriter(sink))  # type: ignore[arg-type]
    assert sink.written == inert(hostile.CONTROL[5]) + " [b]x\n"


# -- the subcommands -----------------------------------------------------------------------

@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    with hostile.endpoint() as url:
        yield url


@pytest.fixture
def corpus(cluster: Cluster, endpoint: str) -> Iterator[hostile.Corpus]:
    made = hostile.make_corpus(cluster, endpoint)
    try:
        yield made
    finally:
        hostile.drop_corpus(cluster, made)
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobname like %s",
                    [f"{made.tag}-file-%"])


def toml_string(text: str) -> str:
    """A TOML basic string holding `text` exactly (controls as \\u escapes)."""
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif ord(char) < 0x20 or 0x7f <= ord(char) <= 0x9f:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def jobs_file(path: Path, tag: str) -> Path:
    """Jobs as code, with the corpus in names, schedule tails and commands."""
    entries = []
    for i, piece in enumerate(hostile.CONTROL + hostile.MARKUP[:4] + hostile.UNICODE[:4]):
        name = f"{tag}-file-{i} {piece}"
        while len(name.encode()) > 63:  # cron.job.jobname keeps 63 bytes
            name = name[:-1]
        entries.append(
            f"[[job]]\nname = {toml_string(name)}\n"
            f"schedule = {toml_string(hostile.NEVER + ' ' + hostile.mixed(i))}\n"
            f"command = {toml_string('select ' + hostile.dollar(piece))}\n")
    path.write_text("\n".join(entries), encoding="utf-8")
    return path


@pytest.fixture(params=[pytest.param("direct", marks=pytest.mark.smoke), "pooler"])
def dsn(request: pytest.FixtureRequest, cluster: Cluster) -> str:
    """The server as the operator reaches it: directly, or through PgBouncer in transaction
    mode (as Supabase's port 6543 is)."""
    if request.param == "direct":
        return cluster.conninfo
    return request.getfixturevalue("pooler").conninfo()


def cli(dsn: str | None, *args: str) -> subprocess.CompletedProcess[bytes]:
    conn = ["-d", dsn] if dsn is not None else []
    return subprocess.run([sys.executable, "-m", "tui", *args, *conn], capture_output=True,
                          timeout=180, stdin=subprocess.DEVNULL)


def assert_inert(done: subprocess.CompletedProcess[bytes], *codes: int) -> str:
    out = done.stdout.decode("utf-8")  # strict: the output is text
    err = done.stderr.decode("utf-8")
    assert "Traceback" not in err, err
    assert done.returncode in codes, (done.returncode, err[-2000:])
    leaked = hostile.leaks(out, allow_escapes=False) + hostile.leaks(err, allow_escapes=False)
    assert not leaked, "\n".join(leaked)
    return out


def test_every_subcommand_prints_hostile_text_inert(cluster: Cluster, corpus: hostile.Corpus,
                                                     dsn: str, tmp_path: Path) -> None:
    failing, owned = corpus.failing, corpus.owned
    http = f"#{corpus.jobs[corpus.http]}"
    tail = hostile.NEVER + " " + hostile.CONTROL[5] + hostile.MARKUP[3]
    spec = jobs_file(tmp_path / "jobs.toml", corpus.tag)

    out = assert_inert(cli(dsn, "jobs"), 0)
    assert "\\x1b[6nZq2" in out  # shown, not dropped
    assert "\\x1b[6nZq2" in assert_inert(cli(dsn, "jobs", "--json"), 0).replace(
        "\\u001b", "\\x1b")
    for args in (["--limit", "500"], ["--format", "csv", "--limit", "500"],
                 ["--format", "json", "--limit", "500"], ["--json", "--job", failing],
                 ["--job", owned, "--format", "csv"], ["--status", "failed"]):
        out = assert_inert(cli(dsn, "runs", *args), 0)
        assert out.strip()
    csv = assert_inert(cli(dsn, "runs", "--format", "csv", "--job", failing), 0)
    assert "\\x1b]52;c;" in csv

    assert_inert(cli(dsn, "plan", str(spec)), 1)
    assert_inert(cli(dsn, "plan", str(spec), "--json"), 1)
    out = assert_inert(cli(dsn, "apply", str(spec), "--yes"), 0)
    assert "\\x1b[2J" in out
    assert cluster.value("select count(*) from cron.job where jobname like %s",
                         [f"{corpus.tag}-file-%"]) == len(hostile.CONTROL) + 8
    assert_inert(cli(dsn, "plan", str(spec)), 0)  # what was written is what was asked

    assert_inert(cli(dsn, "doctor"), 0, 1)
    assert_inert(cli(dsn, "doctor", "--json"), 0, 1)
    out = assert_inert(cli(dsn, "http", http), 0)
    assert "\\x1b[2J" in out  # the endpoint's answer, escaped
    assert_inert(cli(dsn, "http", http, "--json"), 0)
    assert_inert(cli(None, "schedule", tail), 0)
    assert_inert(cli(None, "schedule", tail, "--json"), 0)
    assert_inert(cli(dsn, "schedule", tail), 0)

    assert_inert(cli(dsn, "run", failing, "--yes"), 0, 1)
    # The hostile role may not log in (the test clusters want a password): refused, said
    # in one inert sentence; then run by SET ROLE as the operator allows.
    assert_inert(cli(dsn, "run", owned, "--yes"), 0, 1, 2)
    assert_inert(cli(dsn, "run", owned, "--yes", "--as-self"), 0, 1)
    assert_inert(cli(dsn, "pause", owned, "--yes"), 0)
    assert_inert(cli(dsn, "resume", owned, "--yes"), 0)
    assert_inert(cli(dsn, "explain", failing), 0, 1)
    assert_inert(cli(dsn, "explain", failing, "--json"), 0, 1)
    assert_inert(cli(dsn, "timeline"), 0, 1)
    assert_inert(cli(dsn, "timeline", "--json"), 0, 1)
    assert_inert(cli(dsn, "watch", "--once"), 0, 1)
    # An error that quotes the database's text: a job that is not there.
    assert_inert(cli(dsn, "runs", "--job", hostile.CONTROL[5] + "nope"), 2)


# -- the app in a real terminal -------------------------------------------------------------

def read_for(master: int, seconds: float, until: bytes | None = None) -> bytes:
    seen = b""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (until is None or until not in seen):
        try:
            seen += os.read(master, 65536)
        except (BlockingIOError, InterruptedError):
            time.sleep(0.05)
        except OSError:
            break
    return seen


@pytest.mark.smoke  # the TUI in a terminal, its main keys
def test_the_app_in_a_terminal_writes_nothing_raw(cluster: Cluster,
                                                  corpus: hostile.Corpus) -> None:
    env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
    pid, master = pty.fork()
    if pid == 0:  # the child: the pty is its terminal, as over SSH
        os.execve(sys.executable, [sys.executable, "-m", "tui", "-d", cluster.conninfo], env)
    fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    os.set_blocking(master, False)
    written = b""
    try:
        written += read_for(master, 30, until=b"connected")
        assert b"connected" in written
        os.write(master, b"/")
        written += read_for(master, 1.5)  # the filter box takes the focus, then the keys
        os.write(master, corpus.tag.encode())
        written += read_for(master, 15, until=f"filter: {corpus.tag}".encode())
        # Enter, back to the table: as the kitty keyboard protocol the app asked for sends it
        os.write(master, b"\x1b[13u")
        written += read_for(master, 1.5)
        os.write(master, b"c")
        written += read_for(master, 10, until=b"\x1b]52;c;")
        for keys in (b"\x1b[13u", b"\x1b[27u", b"j", b"f", b"?", b"\x1b[27u"):
            os.write(master, keys)
            written += read_for(master, 1.5)
        assert b"\\x1b" in written  # the corpus is on screen, escaped
        assert b"\x1b]52;c;" in written  # c copied, through the terminal
        os.write(master, b"q")
        written += read_for(master, 10)
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(master)
    leaked = hostile.leaks(written.decode("utf-8", "replace"), allow_escapes=True)
    assert not leaked, "\n".join(leaked)
