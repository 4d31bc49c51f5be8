"""Whatever is typed, a sentence back (issue 28): every subcommand's every option, given
values people mistype (and worse), ends in exit 1 or 2 with a few lines on stderr naming
the option, nothing raw from the value, no traceback, within its time, and the server
untouched. Run in-process through `tui.cli.main`, pointed at the real cluster, so that a
value that slipped past its check would reach a real server (and show up in the snapshot).
Generated argv too (hypothesis)."""

from __future__ import annotations

import contextlib
import io
import os
import re
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Cluster
from tui.cli import main

NUMBERS = ["", " ", "\t", "abc", "-5", "-1", "1.5", "1e999", "nan", "NaN", "inf", "-inf",
           "٣", "１２", "99999999999999999999999999", "0x10", "5\x00", "\x1b[31m5",
           "9" * 100_000]
SECONDS = ["", " ", "abc", "-1", "-0.5", "nan", "inf", "-inf", "1e999", "٣", "5s", "\x1b]0;x\x07",
           "9" * 100_000]
SINCE = ["", " ", "3x", "-3d", "0d", "3", "yesterday", "now", "2026-13-45T00:00+00:00",
         "2026-11-01T00:00+99:00", "9999-12-31T23:59+00:00", "0001-01-01", "2999-01-01",
         "\x1b]52;c;aGk=\x07", "3d\x00", "x" * 100_000, "٣d"]
INSTANTS = ["", " ", "tomorrow", "2026-13-45", "2026-02-30T00:00", "9999-12-31T23:59+00:00",
            "0001-01-01", "2026-11-01T00:00+99:00", "\u202e2026-01-01", "1" * 100_000]
ENUMS = ["", " ", "nope", "FAILED ", "\u202efailed", "fail\x00ed", "\x1b[2J", "x" * 100_000]
JOBS = ["", "#", "#abc", "#-1", "#1.5", "a\x00b", "#" + "9" * 40]
PORTS = ["abc", "0", "-1", "65536", "99999", "٣", "5432,x", "1e3", "\x1b[1m", "9" * 100_000]
CONNINFO = ["foo=bar", "host=x port", "sslmode=sometimes", "host='unterminated",
            "dbname=x password=hunter2 bad", "postgresql://u:hunter2@[::1",
            "postgresql://h:99999/db", "a\x00b", "\x1b]8;;x\x07"]
TEXT = ["a\x00b", "\x1b[31mred", "x\ny"]
SIZES = ["", "abc", "-5", "0", "1,,x", "1e99", "nan", "٣", "100000000000"]
URLS = ["", " ", "notaurl", "file:///etc/passwd", "http://", "ftp://x", "https://:9093",
        "http://exa mple.com", "\x1b]8;;http://x\x07", "http://" + "x" * 100_000]
HOST_PORTS = ["", "127.0.0.1", "127.0.0.1:99999", "256.1.1.1:9000", "[::1", "::1:9000",
              "host:port", "127.0.0.1:-1", "127.0.0.1:٣", "\x1b[2J:80"]
DURATIONS = ["", " ", "3x", "-3d", "0d", "nan", "inf", "1e999", "yesterday", "9999w"]
EXPRS = ["", " ", "* * * *", "\x00", "61 * * * *", "\x1b[31m* * * * *", "x" * 100_000]


def _files(tmp: Path) -> list[str]:
    """Paths no file option takes, or files no reader takes."""
    folder = tmp / "folder"
    folder.mkdir(exist_ok=True)
    fifo = tmp / "fifo"
    if not fifo.exists():
        os.mkfifo(fifo)
    (tmp / "latin1.toml").write_bytes(b"x = '\xe9t\xe9'\n")
    (tmp / "broken.toml").write_text("[[job]\nname = 'x'\n")
    (tmp / "secret.toml").write_text("password = 'hunter2' oops\n")
    unreadable = []
    if os.geteuid() != 0:  # root reads any file
        (tmp / "unreadable.toml").write_text("x = 1\n")
        (tmp / "unreadable.toml").chmod(0)
        unreadable.append(str(tmp / "unreadable.toml"))
    return [*unreadable, "", " ", "/nonexistent/x.toml", str(folder), "/dev/null", str(fifo),
            str(tmp / "latin1.toml"), str(tmp / "broken.toml"), str(tmp / "secret.toml"),
            "x\x00.toml", "/" + "x" * 100_000]


def _out_files(tmp: Path) -> list[str]:
    return ["", " ", str(tmp), "/", "/nonexistent/dir/x.log", "/proc/version", "x\x00.log"]


def _bad_configs(tmp: Path) -> list[str]:
    """TOML that is TOML, with what the config does not take."""
    out = []
    for n, body in enumerate(["read_only = 'maybe'\n", "profiles = 3\n",
                              "statement_timeout_ms = 'soon'\n",
                              "[profiles.a]\ndsn = 5\n"]):
        path = tmp / f"config{n}.toml"
        path.write_text(body)
        out.append(str(path))
    return out


def _bad_jobs_files(tmp: Path) -> list[str]:
    out = []
    for n, body in enumerate(["[[job]]\nname = 'x'\n", "job = 5\n",
                              "[[job]]\nname = 'x'\nschedule = 5\ncommand = 'select 1'\n"]):
        path = tmp / f"jobs{n}.toml"
        path.write_text(body)
        out.append(str(path))
    return out


CONNECTING = ["jobs", "runs", "doctor", "timeline", "explain x", "http x", "run x", "pause x",
              "resume x", "plan {jobs}", "apply {jobs}", "schedule --server * * * * *"]


def _cases(tmp: Path) -> list[tuple[str, str, str, list[str]]]:
    """(subcommand and its positionals, option, name on stderr, bad values)."""
    files, configs = _files(tmp), _bad_configs(tmp)
    (tmp / "ok.toml").write_text("[[job]]\nname = 'corpus-never'\nschedule = '0 3 * * *'\n"
                                 "command = 'select 1'\n")
    cases: list[tuple[str, str, str, list[str]]] = [
        ("runs", "--limit", "--limit", NUMBERS), ("runs", "--status", "--status", ENUMS),
        ("runs", "--format", "--format", ENUMS), ("runs", "--job", "--job", JOBS),
        ("schedule * * * * *", "--count", "--count", NUMBERS),
        ("schedule * * * * *", "--from", "--from", INSTANTS),
        ("schedule * * * * *", "--pg-cron", "--pg-cron", ENUMS + ["1.3", "2.0", "1.6.x"]),
        ("timeline", "--hours", "--hours", NUMBERS + ["0", "337"]),
        ("explain x", "--since", "--since", SINCE),
        ("run x", "--timeout", "--timeout", SECONDS + ["0", "604801"]),
        ("bench", "--jobs", "--jobs", NUMBERS + ["0"]), ("bench", "--runs", "--runs", SIZES),
        ("bench", "--idle", "--idle", SECONDS + ["0"]),
        ("bench", "--stream", "--stream", NUMBERS + ["0"]),
        ("demo", "--config", "--config", files), ("demo", "--log", "--log", _out_files(tmp)),
        ("bench", "--log", "--log", _out_files(tmp)),
        ("watch", "--metrics", "--metrics", HOST_PORTS),
        ("watch", "--webhook", "--webhook", URLS),
        ("watch", "--alertmanager", "--alertmanager", URLS),
        ("watch", "--webhook-file", "--webhook-file", files),
        ("watch", "--alertmanager-file", "--alertmanager-file", files),
        ("watch", "--webhook-format", "--webhook-format", ENUMS),
        ("watch", "--repeat", "--repeat", DURATIONS),
        ("watch", "--interval", "--interval", SECONDS + ["0"]),
        ("watch", "--grace", "--grace", SECONDS),
        ("watch", "--deadline", "--deadline", SECONDS + ["0"]),
        ("watch", "--state", "--state", _out_files(tmp)),
    ]
    for sub, flag in (("jobs", "--json"), ("runs", "--json"), ("run x", "--yes"),
                      ("timeline", "--json")):  # a flag given a value: a wrong type
        cases.append((sub, f"{flag}=yes", flag, [""]))
    for sub in ("run", "pause", "resume", "http", "explain"):
        cases.append((sub, "", "JOB", JOBS))
    for sub in ("plan", "apply"):
        cases.append((sub, "", "FILE", files + _bad_jobs_files(tmp)))
    cases.append(("schedule", "", "", EXPRS))  # invalid schedules: exit 1, said on stdout
    for sub in CONNECTING:
        sub = sub.format(jobs=tmp / "ok.toml")
        cases += [(sub, "--statement-timeout", "--statement-timeout", NUMBERS + ["0"]),
                  (sub, "--config", "--config", files + configs),
                  (sub, "--log", "--log", _out_files(tmp)),
                  (sub, "-p", "--port", PORTS), (sub, "-d", "--dbname|could not connect", CONNINFO),
                  (sub, "-h", "--host", TEXT), (sub, "-U", "--username", TEXT),
                  (sub, "--profile", "--profile", TEXT + ["nosuchprofile"])]
    return cases


class Hung(BaseException):
    """Raised by the deadline: past main's own `except Exception`."""


@contextlib.contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    def ring(_signum: int, _frame: FrameType | None) -> None:
        raise Hung(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


#: Each call's bound: the connect timeout (5 s) and a statement's (5 s), with room.
DEADLINE_S = 30


def call(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), \
            _deadline(DEADLINE_S):
        try:
            code = main(argv)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    return code, out.getvalue(), err.getvalue()


def server_state(cluster: Cluster) -> list[tuple[object, ...]]:
    """What a slipped-through value could change: the jobs, and runs started from here."""
    return [*cluster.sql("select jobid, jobname, schedule, command, active, username, database "
                         "from cron.job order by jobid"),
            *cluster.sql("select runid, status from cron.job_run_details "
                         "where return_message like 'manual run%' order by runid")]


def argv_for(sub: str, option: str, value: str, cluster: Cluster) -> list[str]:
    words = sub.split(" ", 1)
    head = [words[0]]
    rest = words[1:]
    if words[0] == "schedule" and rest:
        if rest[0].startswith("--server "):
            head, rest = [*head, "--server"], [rest[0][len("--server "):]]
    conn = [] if words[0] in ("demo", "bench") or option == "-d" else ["-d", cluster.conninfo]
    if words[0] == "schedule" and "--server" not in head:
        conn = []
    given = [option] if "=" in option else [option, value] if option else [value]
    return [*head, *conn, *given, *(["--"] + rest if rest else [])]


def check(argv: list[str], needle: str, value: str) -> None:
    code, out, err = call(argv)
    where = f"argv {[a[:80] for a in argv]}: exit {code}\nstderr: {err[:600]!r}"
    assert code in (1, 2), where
    assert "Traceback" not in err and "Traceback" not in out, where
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", err), where  # shown escaped
    assert "hunter2" not in err, where  # masked
    if code == 1 and not err:  # a verdict (schedule: invalid), said on stdout
        assert out.startswith(("invalid", "{")), where
        return
    assert 0 < len(err.strip().splitlines()) <= 3 and len(err) < 3000, where
    if needle:
        named = any(n in err for n in needle.split("|")) or (
            value.strip() and value.strip()[:40] in err)
        assert named or "no such file" in err or "profile" in err, where


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, str, str, list[str]]]:
    return _cases(tmp_path_factory.mktemp("corpus"))


def test_every_option_refuses_bad_values_in_a_sentence(
        cluster: Cluster, table: list[tuple[str, str, str, list[str]]],
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # a refused --log must not have left a file anywhere
    before = server_state(cluster)
    count = 0
    for sub, option, needle, values in table:
        for value in values:
            check(argv_for(sub, option, value, cluster), needle, value)
            count += 1
    assert count > 800
    assert server_state(cluster) == before
    assert list(tmp_path.iterdir()) == []


SUBCOMMANDS = {  # read-only ones and their options, for generated command lines
    "jobs": ["--json"],
    "runs": ["--json", "--format", "--job", "--status", "--limit"],
    "schedule": ["--pg-cron", "--timezone", "--from", "--count", "--json",
                 "--match-dom-and-dow"],
    "doctor": ["--json"],
    "explain": ["--since", "--json", "--all"],
    "timeline": ["--hours", "--json"],
    "plan": ["--json", "--prune"],
}
COMMON = ["--statement-timeout", "-p", "--read-only", "--profile", "-U"]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    sub = draw(st.sampled_from(sorted(SUBCOMMANDS)))
    words = [sub]
    if sub in ("explain", "plan", "schedule"):
        words.append(draw(st.text(max_size=30)))
    options = SUBCOMMANDS[sub] + COMMON
    for _ in range(draw(st.integers(0, 4))):
        words.append(draw(st.sampled_from(options)))
        words.append(draw(st.one_of(st.text(max_size=30), st.integers().map(str),
                                    st.floats().map(str), st.sampled_from(SINCE[:14]))))
    return words


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_generated_command_lines_end_in_a_sentence(cluster: Cluster, argv: list[str]) -> None:
    """Whatever the words, an exit code of the documented ones and no traceback; the
    session is read-only (--read-only), so a command line that happens to be valid reads."""
    code, out, err = call([*argv[:1], "-d", cluster.conninfo, "--read-only", *argv[1:]])
    assert code in (0, 1, 2), (argv, code, err[:600])
    assert "Traceback" not in err + out and "internal error" not in err, (argv, err[:600])
    if code == 2:
        assert err.strip(), argv
