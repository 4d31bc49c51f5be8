"""The `cronjobs-tui` command: the TUI by default, and subcommands for scripts.

One parser; each subcommand is a module here with `register(subparsers, connection_parent)`,
which adds its parser and sets its `handler`. A new subcommand is a new module, added to
SUBCOMMANDS below. Connection options are in options.py, printing and exit codes in output.py.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from tui import version
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
from tui.cli.output import run_handler

#: In the order `--help` lists them.
SUBCOMMANDS = (jobs, runs, demo, schedule, doctor, http, plan, bench, run, insight, watch)


def build_parser() -> argparse.ArgumentParser:
    conn = connection_parser(suppress=True)
    parser = argparse.ArgumentParser(
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
    args = build_parser().parse_args(argv)
    handler = app.cmd_tui if args.command is None else args.handler
    # The TUI and the demo draw on the terminal; every other subcommand prints database text.
    return run_handler(handler, args, inert_output=args.command not in (None, "demo"))
