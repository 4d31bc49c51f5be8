"""`cronjobs-tui run|pause|resume JOB` for runbooks, and a manual run that outlives no
terminal: on a hang-up (TUI or headless) it is cancelled on the server and recorded failed."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cluster

NEVER = "0 0 31 2 *"


def unique() -> str:
    return f"runbook-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_job(cluster: Cluster) -> Iterator[Callable[..., tuple[int, str]]]:
    made: list[int] = []

    def make(command: str = "select 1") -> tuple[int, str]:
        name = unique()
        jobid = int(cluster.value("select cron.schedule(%s, %s, %s)", [name, NEVER, command]))
        made.append(jobid)
        return jobid, name

    yield make
    cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [made])


def cli(cluster: Cluster, *args: str, stdin: int | None = subprocess.DEVNULL
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args, "-d", cluster.conninfo],
                          capture_output=True, text=True, timeout=120, stdin=stdin,
                          check=False)


def runs(cluster: Cluster, jobid: int) -> list[tuple[Any, ...]]:
    return cluster.sql("select status, return_message, end_time is not null "
                       "from cron.job_run_details where jobid = %s order by runid", [jobid])


def audit(job: str) -> list[dict[str, Any]]:
    path = Path(os.environ["XDG_STATE_HOME"]) / "cronjobs-tui" / "audit.jsonl"
    lines = path.read_text().splitlines() if path.exists() else []
    return [e for e in map(json.loads, lines) if e["job"] == job]


def test_run_pause_resume_headless(cluster: Cluster,
                                   make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job("select 1 union all select 2")
    done = cli(cluster, "run", name, "--yes")
    assert done.returncode == 0, done.stderr
    assert "time limit: none beyond the server's own" in done.stdout
    assert runs(cluster, jobid) == [("succeeded", "manual run by postgres: 2 rows", True)]
    assert "succeeded (run #" in done.stdout
    done = cli(cluster, "pause", name, "--yes")
    assert done.returncode == 0, done.stderr
    assert cluster.value("select active from cron.job where jobid = %s", [jobid]) is False
    again = cli(cluster, "pause", name, "--yes")  # set, never toggled
    assert again.returncode == 0 and "already paused" in again.stdout
    assert cluster.value("select active from cron.job where jobid = %s", [jobid]) is False
    done = cli(cluster, "resume", f"#{jobid}", "--yes")
    assert done.returncode == 0, done.stderr
    assert cluster.value("select active from cron.job where jobid = %s", [jobid]) is True
    assert [(e["action"], e["outcome"]) for e in audit(name)] == [
        ("trigger", "succeeded"), ("pause", "ok"), ("resume", "ok")]


def test_run_exit_codes(cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    failing_id, failing = make_job("select 1/0")
    done = cli(cluster, "run", failing, "--yes")
    assert done.returncode == 1 and "division by zero" in done.stdout
    assert runs(cluster, failing_id)[-1][0] == "failed"
    # The operator's limit applies to this run alone, and says so.
    slow_id, slow = make_job("select pg_sleep(5)")
    done = cli(cluster, "run", slow, "--yes", "--timeout", "0.3")
    assert done.returncode == 1 and "statement timeout" in done.stdout
    assert "0.3 s limit" in done.stdout
    assert runs(cluster, slow_id)[-1][0] == "failed"
    # Refusals: nothing runs, exit 2.
    jobid, name = make_job()
    for args, said in ((["run", name], "pass --yes"),  # no terminal to ask on
                       (["run", name, "--yes", "--read-only"], "read-only"),
                       (["pause", name, "--yes", "--read-only"], "read-only"),
                       (["run", "no-such-job-here", "--yes"], "no job named"),
                       (["run", name, "--yes", "--timeout", "-1"], "--timeout")):
        done = cli(cluster, *args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert said in done.stderr, (args, done.stderr)
    assert runs(cluster, jobid) == []
    assert cluster.value("select active from cron.job where jobid = %s", [jobid]) is True


def wait_until(condition: Callable[[], Any], timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"never true: {what or condition}")
        time.sleep(0.1)


def in_pty(argv: list[str]) -> tuple[int, int]:
    """As a login shell runs it: the pty is its controlling terminal."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120", "LINES": "40"}
    pid, master = pty.fork()
    if pid == 0:  # the child
        os.execve(sys.executable, [sys.executable, "-m", "tui", *argv], env)
    return pid, master


def read_until(master: int, needle: bytes, timeout: float = 30) -> bytes:
    import select

    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                seen += os.read(master, 65536)
            except OSError:
                break
    return seen


def exited(pid: int, timeout: float = 20) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.1)
    return False


def hang_up_mid_run(cluster: Cluster, jobid: int, pid: int, master: int) -> None:
    """The run is going: the terminal hangs up; the run must end on the server, recorded."""
    gone = False
    try:
        wait_until(lambda: runs(cluster, jobid) and runs(cluster, jobid)[-1][0] == "running",
                   what="the run started")
        backend = cluster.value("select job_pid from cron.job_run_details where jobid = %s "
                                "order by runid desc limit 1", [jobid])
        # What sshd does when the connection drops: SIGHUP, and the terminal goes away.
        os.kill(pid, signal.SIGHUP)
        os.close(master)
        master = -1
        gone = exited(pid)
        assert gone
    finally:
        if not gone:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if master >= 0:
            os.close(master)
    status, message, ended = runs(cluster, jobid)[-1]
    assert (status, ended) == ("failed", True)
    assert "job canceled (the terminal hung up)" in message
    wait_until(lambda: not cluster.value("select count(*) from pg_stat_activity where pid = %s "
                                         "and state = 'active'", [backend]), 10,
               what="the run's statement ended on the server")


def test_headless_run_hung_up(cluster: Cluster,
                              make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job("select pg_sleep(120)")
    pid, master = in_pty(["run", name, "--yes", "-d", cluster.conninfo])
    hang_up_mid_run(cluster, jobid, pid, master)


def test_tui_run_hung_up(cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job("select pg_sleep(120)")
    pid, master = in_pty(["-d", cluster.conninfo])
    assert b"connected" in read_until(master, b"connected")
    # As typed, each step once the screen shows the last one took effect.
    os.write(master, b"/")
    assert b"ilter jobs" in read_until(master, b"ilter jobs")  # the filter's placeholder
    os.write(master, name.encode())
    assert b"filter: " in read_until(master, b"filter: ")  # the jobs title names it
    os.write(master, b"\r")
    time.sleep(0.5)
    os.write(master, b"t")
    assert b"limit" in read_until(master, b"limit")  # the run-now dialog
    time.sleep(0.5)  # its focus is set once it is mounted
    os.write(master, b"\t\r")  # Cancel has the focus; Run is next
    hang_up_mid_run(cluster, jobid, pid, master)
