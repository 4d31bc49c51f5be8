"""`--log FILE` (issue 27, item 8) and the promise of the CLI's top level (issue 28): JSON
lines, secrets masked, refusals, reconnects and swallowed errors recorded; an unexpected
error is one line on stderr and exit 70, its traceback in the log only. And every network
step has a bound: a server that accepts a connection and never answers, or an address
nobody listens on, fails each connecting subcommand within its stated timeout."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tui import log
from tui.db import ConnectOptions, Database, DatabaseError


def entries(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def cli(*argv: str, env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *argv], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, check=False)


def test_off_by_default_and_masked_json_lines_when_asked(cluster: Cluster,
                                                         tmp_path: Path) -> None:
    path = tmp_path / "field.log"
    secret = "postgresql://ops:hunter2-in-the-dsn@127.0.0.1:1/postgres"
    done = cli("jobs", "-d", secret)
    assert done.returncode == 2 and not path.exists()  # nothing logged without --log
    done = cli("--log", str(path), "jobs", "-d", secret)
    assert done.returncode == 2
    found = entries(path)
    assert {e["event"] for e in found} >= {"refusal"}
    assert all(e["time"] and e["level"] and e["message"] for e in found)
    assert "hunter2" not in path.read_text()
    assert (path.stat().st_mode & 0o077) == 0  # the operator's alone


def test_an_internal_error_is_one_line_and_its_traceback_goes_to_the_log(
        cluster: Cluster, tmp_path: Path) -> None:
    """A broken environment the code does not expect (the audit log's file is a folder):
    one sentence and exit 70; the traceback is in the log, not on the terminal."""
    state = tmp_path / "state"
    (state / "cronjobs-tui" / "audit.jsonl").mkdir(parents=True)
    path = tmp_path / "field.log"
    env = {"XDG_STATE_HOME": str(state)}
    done = cli("explain", "daily-usage-rollup", "-d", cluster.conninfo, env=env)
    assert done.returncode == 70
    assert done.stderr.startswith("cronjobs-tui: internal error: IsADirectoryError")
    assert done.stderr.rstrip().endswith("run again with --log FILE for details")
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
    done = cli("explain", "daily-usage-rollup", "-d", cluster.conninfo, "--log", str(path),
               env=env)
    assert done.returncode == 70 and "Traceback" not in done.stderr
    (error,) = [e for e in entries(path) if e["event"] == "internal_error"]
    assert error["command"] == "explain"
    assert "Traceback" in str(error["traceback"]) and "IsADirectoryError" in str(
        error["traceback"])


@pytest.fixture
def field_log(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "field.log"
    log.start(path)
    yield path
    log.stop()


async def test_a_reconnect_and_the_loss_before_it_are_recorded(
        fresh_cluster: Cluster, field_log: Path) -> None:
    db = Database(ConnectOptions(dbname=fresh_cluster.conninfo))
    try:
        await db.facts()
        fresh_cluster.sql("select pg_terminate_backend(pid) from pg_stat_activity "
                          "where application_name = 'cronjobs-tui' and pid <> pg_backend_pid()")
        with pytest.raises(DatabaseError):
            await db.facts()
        await db.facts()  # connects again
    finally:
        await db.close()
    kinds = [e["event"] for e in entries(field_log)]
    assert "connection_lost" in kinds and "reconnect" in kinds
    assert kinds.index("connection_lost") < kinds.index("reconnect")


def test_a_swallowed_error_leaves_a_trace(field_log: Path) -> None:
    with log.swallowing("closing something already gone"):
        raise OSError("the secret is password=hunter2")
    (entry,) = entries(field_log)
    assert entry["event"] == "swallowed" and entry["level"] == "warning"
    assert "closing something already gone: OSError" in str(entry["message"])
    assert "hunter2" not in json.dumps(entry)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that takes TCP connections and never says a word (a hung pooler, a firewall
    that accepts and drops)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(64)
        yield server.getsockname()[1]


CONNECTING = [["jobs"], ["runs"], ["doctor"], ["timeline"], ["explain", "x"], ["http", "x"],
              ["run", "x", "--yes"], ["pause", "x", "--yes"], ["resume", "x", "--yes"],
              ["schedule", "--server", "* * * * *"]]


def test_a_dead_target_fails_every_subcommand_within_its_timeout(silent_server: int) -> None:
    """All at once (each waits on its own connect timeout, 5 s): exit 2 and the target named,
    before the test's own bound, which is only there so that a hang fails the test."""
    procs = {
        " ".join(argv): subprocess.Popen(
            [sys.executable, "-m", "tui", *argv, "-h", "127.0.0.1", "-p", str(silent_server),
             "-U", "nobody", "-d", "postgres"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for argv in CONNECTING}
    try:
        for name, proc in procs.items():
            _, err = proc.communicate(timeout=120)
            assert proc.returncode == 2, (name, err)
            assert "127.0.0.1" in err and "Traceback" not in err, (name, err)
            assert len(err.splitlines()) <= 3, (name, err)
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
