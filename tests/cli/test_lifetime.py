"""Nothing outlives its command (issue 28): `bench` and `demo --print-dsn`, killed mid-way
by each of SIGINT, SIGTERM and SIGHUP, leave no server process, no open port and no
temporary folder behind. Real subprocesses, real clusters; the tests wait for a stage of the
command (its cluster's pid file, the bench's "cluster up" line), never for a time."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.fixture
def place() -> Iterator[Path]:
    """A folder for the command's clusters outside pytest's own temporary folders, which
    any pytest starting meanwhile makes private again (0700), shutting the server out."""
    folder = Path(tempfile.mkdtemp(prefix="cronjobs-tui-lifetime-", dir="/tmp"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _processes_naming(path: Path) -> list[str]:
    """Command lines of live processes that name `path` (a postmaster's -D, say)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if str(path) in cmdline and "pytest" not in cmdline:
            found.append(cmdline)
    return found


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _pid_files(folder: Path) -> list[Path]:
    return list(folder.rglob("postmaster.pid"))


def _server_starting(folder: Path) -> bool:
    """A postmaster's pid file beside the sandbox's settings (initdb's bootstrap backend
    writes a pid file too, before the settings exist)."""
    return any((p.parent / "cronjobs-tui.conf").exists() for p in _pid_files(folder))


def _wait_for(what: Callable[[], object], proc: subprocess.Popen[bytes], err: Path) -> None:
    """Until `what` holds, the command still running (it must not end before the signal)."""
    deadline = time.monotonic() + 240  # a bound for a stuck machine, not a measurement
    while not what():
        assert proc.poll() is None, f"ended before the signal: {err.read_text()}"
        assert time.monotonic() < deadline, err.read_text()
        time.sleep(0.05)


def _kill_and_check(argv: list[str], env: dict[str, str], tmp_path: Path, sig: int,
                    stage: Callable[[Path], bool], watched: Path) -> None:
    err = tmp_path / "stderr"
    with err.open("wb") as stderr:
        proc = subprocess.Popen([sys.executable, "-m", "tui", *argv], env=env,
                                stdout=subprocess.DEVNULL, stderr=stderr, cwd=tmp_path)
    try:
        _wait_for(lambda: stage(err), proc, err)
        ports = []
        for pid_file in _pid_files(watched):
            lines = pid_file.read_text().splitlines()
            if len(lines) > 3 and lines[3].isdigit():
                ports.append(int(lines[3]))
        proc.send_signal(sig)
        code = proc.wait(timeout=240)
    finally:
        if proc.poll() is None:
            proc.kill()
    text = err.read_text()
    assert code in (128 + sig, 130, 2), (code, text)
    assert "Traceback" not in text, text
    # What the command started in a session of its own (the demo's endpoint) ends itself
    # once the cluster is gone: it polls the postmaster each second.
    deadline = time.monotonic() + 30
    while _processes_naming(watched) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _processes_naming(watched) == [], text
    assert _pid_files(watched) == [], text
    for port in ports:
        assert not _listening(port), f"port {port} still open: {text}"


@pytest.mark.parametrize("stage", ["starting", "filling"])
@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_killed_bench_leaves_nothing(tmp_path: Path, place: Path, sig: int,
                                       stage: str) -> None:
    scratch = place / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}

    def reached(err: Path) -> bool:
        if stage == "starting":  # the postmaster is up, pg_ctl may still be waiting for it
            return _server_starting(scratch)
        return "cluster up" in err.read_text()  # filling pg_cron's tables

    _kill_and_check(["bench", "--quick", "--jobs", "50", "--runs", "100000"], env, tmp_path,
                    sig, reached, scratch)
    assert list(scratch.iterdir()) == []  # the throwaway folder went with its cluster


@pytest.mark.parametrize("sig", SIGNALS, ids=lambda s: signal.Signals(s).name)
def test_a_demo_killed_while_starting_stops_its_cluster(tmp_path: Path, place: Path,
                                                        sig: int) -> None:
    demo = place / "demo"
    env = {**os.environ, "CRONJOBS_TUI_DEMO_DIR": str(demo)}
    _kill_and_check(["demo", "--print-dsn"], env, tmp_path, sig,
                    lambda _err: _server_starting(demo), demo)
