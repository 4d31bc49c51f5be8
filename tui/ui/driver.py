"""The terminal driver: Textual's own for Linux, but one that never waits forever on a terminal
that went away.

Textual's driver hands each frame to a writer thread through a queue of 30; once the terminal
takes no more (nobody reads a frozen ssh session, or the hung-up terminal refused a write and
the writer thread died), the 31st frame blocks the event loop for good: the app can neither
draw nor hear that the terminal hung up. Here frames go through a queue of our own, waited on
only while the terminal may still read them; once it is gone (SIGHUP, or a write refused),
they are dropped, and the app is told on its loop to leave as on `q` (a manual run in progress
is cancelled and recorded).
"""
from __future__ import annotations

import asyncio
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

FRAMES_QUEUED = 30  # as many as Textual's own writer holds
WAIT = 0.1  # seconds between two looks at whether the terminal went away, while it reads not


def terminal_driver(textual_choice: type[Driver]) -> type[Driver]:
    """Ours where Textual would use its Linux driver (not headless, web or Windows ones)."""
    return TerminalDriver if textual_choice is LinuxDriver else textual_choice


class TerminalDriver(LinuxDriver):
    def __init__(self, app: App[Any], **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.app_loop = asyncio.get_running_loop()
        # The app's way out when the terminal hangs up (`hang_up`), else a plain exit.
        self.leave: Callable[[], object] = getattr(app, "hang_up", app.exit)
        self.terminal_gone = threading.Event()
        self.frames: queue.Queue[str | None] = queue.Queue(FRAMES_QUEUED)
        self.output_thread: threading.Thread | None = None
        # sshd sends SIGHUP when the connection drops, as the kernel does when the terminal
        # closes. A handler of the signal module, not one of the loop: that runs only when the
        # loop turns, which it may not while the terminal is stuck.
        signal.signal(signal.SIGHUP, self.hung_up)

    def hung_up(self, *_: object) -> None:
        """The terminal is gone: nothing more is drawn or read, and the app leaves."""
        if self.terminal_gone.is_set():
            return
        self.terminal_gone.set()
        self.forget_terminal()
        # Textual's input thread would spin on the dead terminal (always readable, never data).
        self.exit_event.set()
        self.app_loop.call_soon_threadsafe(self.leave)

    @staticmethod
    def forget_terminal() -> None:
        """Standard output and error to /dev/null, as for a daemon: whatever still writes
        there (a warning of Textual's input thread, the error report of a closing app, the
        interpreter's last flush) would otherwise wait for good on a terminal nobody reads,
        and with it the interpreter's exit, which waits for Textual's input thread."""
        nowhere = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(nowhere, fd)
        os.close(nowhere)

    def disable_input(self) -> None:
        # Textual waits for its input thread to end only if it is the one to tell it to: once
        # the terminal is gone (told above), the loop would otherwise close while that thread
        # still hands on the keys pressed before, and its error about the closed loop would
        # keep the interpreter from exiting.
        if self.terminal_gone.is_set():
            self.exit_event.clear()
        super().disable_input()

    def start_application_mode(self) -> None:
        self.output_thread = threading.Thread(target=self.write_frames, daemon=True,
                                              name="cronjobs-output")
        self.output_thread.start()
        super().start_application_mode()  # its first writes go through write() below

    def write(self, data: str) -> None:
        self.hand_over(data)

    def hand_over(self, data: str | None) -> None:
        """Queued for the output thread, waiting while the terminal may still read it."""
        while not self.terminal_gone.is_set():
            try:
                self.frames.put(data, timeout=WAIT)
                return
            except queue.Full:
                continue

    def close(self) -> None:
        if self.output_thread is not None:
            self.hand_over(None)  # all the frames written (the screen restored), then stop
            while self.output_thread.is_alive() and not self.terminal_gone.is_set():
                self.output_thread.join(WAIT)
            self.output_thread = None
        super().close()  # Textual's own writer thread, idle

    def write_frames(self) -> None:
        """The output thread: frames to the terminal, as many as wait in one write. Straight
        to the file descriptor, so a write stuck on a gone terminal holds no lock that the
        interpreter's exit would wait for."""
        stream = sys.__stderr__  # where Textual's Linux driver writes
        fd = stream.fileno() if stream is not None else 2
        encoding = (stream.encoding, stream.errors or "strict") if stream else ("utf-8", "replace")
        while (frame := self.frames.get()) is not None:
            text, last = [frame], False
            while not self.frames.empty() and not last:
                more = self.frames.get_nowait()
                last = more is None
                text += [] if more is None else [more]
            data = "".join(text).encode(*encoding)
            try:
                while data:
                    data = data[os.write(fd, data):]
            except OSError:  # the terminal hung up
                self.hung_up()
                return
            if last:
                return
