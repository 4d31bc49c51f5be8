"""Running `cronjobs-tui` on a real pseudo-terminal: a subcommand at a given width, or the TUI
kept open and driven by keys (tests/test_demo.py, tests/test_cli_text.py)."""

from __future__ import annotations

import fcntl
import os
import struct
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


def _pty(columns: int, rows: int = 24) -> tuple[int, int]:
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
    return master, slave


def _drain(master: int, sink: bytearray) -> None:
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer closed the terminal
            return
        if not chunk:
            return
        sink.extend(chunk)


@dataclass
class Done:
    returncode: int
    stdout: str  # what reached the terminal, newlines as "\n"
    stderr: str


def on_terminal(*args: str, columns: int, env: dict[str, str] | None = None,
                timeout: float = 60) -> Done:
    """`cronjobs-tui ARGS` with stdout on a terminal `columns` wide (and COLUMNS set, as a
    shell exports it); stderr piped."""
    master, slave = _pty(columns)
    out = bytearray()
    reader = threading.Thread(target=_drain, args=(master, out), daemon=True)
    reader.start()
    try:
        done = subprocess.run([sys.executable, "-m", "tui", *args], stdout=slave,
                              stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, timeout=timeout,
                              env={**os.environ, "COLUMNS": str(columns), **(env or {})})
    finally:
        os.close(slave)
        reader.join(10)
        os.close(master)
    return Done(done.returncode, out.decode(errors="replace").replace("\r\n", "\n"),
                done.stderr.decode(errors="replace"))


class Tui:
    """The TUI (or `demo`) running on a terminal of its own until `quit()`."""

    def __init__(self, *args: str, env: dict[str, str] | None = None,
                 columns: int = 120, rows: int = 40):
        self.master, slave = _pty(columns, rows)
        self.screen = bytearray()
        self.proc = subprocess.Popen([sys.executable, "-m", "tui", *args], stdin=slave,
                                     stdout=slave, stderr=slave, start_new_session=True,
                                     env={**os.environ, **(env or {}), "TERM": "xterm-256color",
                                          "COLUMNS": str(columns), "LINES": str(rows)})
        os.close(slave)
        self._reader = threading.Thread(target=_drain, args=(self.master, self.screen),
                                        daemon=True)
        self._reader.start()

    def wait_for(self, text: str, timeout: float = 90) -> None:
        wait_until(lambda: text.encode() in self.screen or self.proc.poll() is not None,
                   timeout, f"{text!r} on the screen")
        assert self.proc.poll() is None, self.screen.decode(errors="replace")[-2000:]

    def quit(self, timeout: float = 60) -> int:
        """`q`, again every few seconds until the app has gone."""
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            os.write(self.master, b"q")
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                continue
        return self.close()

    def close(self) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
        code = self.proc.wait(30)
        self._reader.join(10)
        os.close(self.master)
        return code


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll `condition` until it holds; fail naming `what` after `timeout` seconds (a bound
    against hanging, not a measure: no test asserts how long anything takes)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout} s")
        time.sleep(0.2)
