"""The `cronjobs-tui` command: the TUI by default, and subcommands for scripts.

One parser; each subcommand is a module here with `register(subparsers, connection_parent)`,
which adds its parser and sets its `handler`. A new subcommand is a new module, added to
SUBCOMMANDS below. Connection options are in options.py, the types of every option's value in
types.py, the job resolver in resolve.py, printing and exit codes in output.py.

Whatever happens, `main` ends in a sentence and an exit code, never a traceback: 2 for a bad
command line or a refusal, 70 (EX_SOFTWARE) for an internal error, whose traceback goes to
the `--log` file only; and what the command started (a throwaway cluster) is stopped on
every way out, SIGTERM and SIGHUP included.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Iterator, Sequence
from types import FrameType
from typing import Any

from tui import log, version
from tui.cli import (
    bench,
    demo,
    doctor,
    http,
    insight,
    jobs,
    plan,
    run,
    runs,
    schedule,
    watch,
)
from tui.cli import tui as app
from tui.cli.options import connection_parser
from tui.cli.output import INTERNAL, INTERRUPTED, REFUSED, run_handler, say_internal_error
from tui.cli.types import Parser
from tui.text import one_line

#: In the order `--help` lists them.
SUBCOMMANDS = (jobs, runs, demo, schedule, doctor, http, plan, bench, run, insight, watch)


def build_parser() -> argparse.ArgumentParser:
    conn = connection_parser(suppress=True)
    parser = Parser(
        prog="cronjobs-tui", parents=[connection_parser()], add_help=False,
        description="A terminal UI for PostgreSQL's pg_cron.")
    parser.add_argument("--help", action="help", help="show this help and exit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}",
                        help="print the version and exit (connects to nothing)")
    app.add_arguments(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in SUBCOMMANDS:
        module.register(sub, conn)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    code, command = INTERNAL, None
    before = _started()
    try:
        args = build_parser().parse_args(argv)
        command = args.command
        if args.log:
            try:
                log.start(args.log)
            except OSError as exc:  # it went away since it was checked, say
                print(f"cronjobs-tui: error: argument --log: cannot write to it: "
                      f"{one_line(str(exc))}", file=sys.stderr)
                return REFUSED
        handler = app.cmd_tui if command is None else args.handler
        with _signals_end_the_command():
            # The TUI and the demo draw on the terminal; every other subcommand prints
            # database text.
            code = run_handler(handler, args, inert_output=command not in (None, "demo"))
    except Exception as exc:  # the promise of this function: no traceback reaches a user
        say_internal_error(exc, command)
    except SystemExit as exc:  # argparse's exit (--help, a bad value) or a signal's
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else REFUSED)
    except KeyboardInterrupt:  # Ctrl+C before the handler ran, or after
        code = INTERRUPTED
    finally:
        if code != 0:
            _stop_what_was_started(before)
        log.stop()
    return code


@contextlib.contextmanager
def _signals_end_the_command() -> Iterator[None]:
    """SIGTERM and SIGHUP (a closed terminal) end the command as Ctrl+C does, by an
    exception, so that every `finally` on the way out runs: the bench's cluster is
    destroyed, the demo's stopped. A second signal while that runs is ignored, so the
    cleaning is not cut short. Handlers the command installs itself (the TUI's, `run`'s)
    take over while they are in place."""
    caught: list[int] = []

    def end(signum: int, _frame: FrameType | None) -> None:
        if caught:
            return
        caught.append(signum)
        log.event("signal", f"ended by {signal.Signals(signum).name}")
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise SystemExit(128 + signum)

    saved: dict[signal.Signals, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        with contextlib.suppress(ValueError, OSError):  # not the main thread: leave them
            saved[sig] = signal.signal(sig, end)
    try:
        yield
    finally:
        for number, previous in saved.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(number, previous)


def _started() -> list[Any]:
    sandbox = sys.modules.get("tui.lab.sandbox")
    return sandbox.started() if sandbox is not None else []


def _stop_what_was_started(before: list[Any]) -> None:
    """A command that did not end well leaves no cluster of its own running (the sandbox
    keeps the list; nothing is imported when no sandbox was used). Those running before it
    began (a test session calling main) are not its own."""
    sandbox = sys.modules.get("tui.lab.sandbox")
    if sandbox is not None:
        sandbox.stop_started(keep=before)
