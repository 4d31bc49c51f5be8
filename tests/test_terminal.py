"""The TUI in a real pseudo-terminal: when the terminal goes away, the app goes too, even when
nobody was reading what it drew (a frozen ssh session, a dead connection)."""

from __future__ import annotations

import os
import pty
import signal
import sys
import time

import pytest

from tests.conftest import Cluster


def start_in_pty(cluster: Cluster) -> tuple[int, int]:
    """The app as a login shell would run it: the pty is its controlling terminal."""
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "100", "LINES": "30"}
    pid, master = pty.fork()
    if pid == 0:  # the child
        os.execve(sys.executable, [sys.executable, "-m", "tui", "-d", cluster.conninfo], env)
    return pid, master


def exited(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            return True
        time.sleep(0.1)
    return False


def read_until(master: int, needle: bytes, timeout: float = 20) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        try:
            seen += os.read(master, 65536)
        except OSError:
            break
    return seen


@pytest.mark.parametrize("how", ["hangup", "closed"])
def test_app_exits_when_the_terminal_goes_away(cluster: Cluster, how: str) -> None:
    pid, master = start_in_pty(cluster)
    gone = False
    try:
        assert b"connected" in read_until(master, b"connected")
        if how == "hangup":
            os.kill(pid, signal.SIGHUP)  # what sshd sends when the connection drops
        else:
            os.close(master)  # the terminal itself goes away: the kernel hangs up
        gone = exited(pid, timeout=15)
        assert gone
    finally:
        if not gone:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if how == "hangup":
            os.close(master)


def press_without_reading(master: int, times: int = 40) -> None:
    """`?` and Esc, again and again, and the screen they draw never read: more frames than
    Textual's writer queue holds (30) wait for a terminal that takes none."""
    for _ in range(times):
        for key in (b"?", b"\x1b"):
            os.write(master, key)
            time.sleep(0.05)  # a frame for each key, not one for the whole burst


@pytest.mark.parametrize("how", ["hangup", "closed"])
def test_app_exits_when_the_terminal_goes_away_with_its_output_unread(
        cluster: Cluster, how: str) -> None:
    pid, master = start_in_pty(cluster)
    gone = False
    try:
        assert b"connected" in read_until(master, b"connected")
        press_without_reading(master)
        if how == "hangup":
            os.kill(pid, signal.SIGHUP)  # the master stays open, still unread
        else:
            os.close(master)
        gone = exited(pid, timeout=60)  # a bound for a stuck app, not a measure
        assert gone
    finally:
        if not gone:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        if how == "hangup":
            os.close(master)
