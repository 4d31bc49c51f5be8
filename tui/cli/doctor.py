"""`cronjobs-tui doctor [--json]`: the doctor's checks (tui/doctor/) as a report and an exit
code for scripts."""

from __future__ import annotations

import argparse
from typing import Any

from tui.cli.options import options_from
from tui.cli.output import print_json, terminal_width
from tui.db import Database


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "doctor", parents=[connection_parent], add_help=False,
        help="check what keeps pg_cron from running jobs (exit 1 on warnings or problems)")
    parser.add_argument("--json", action="store_true",
                        help='{"ok": bool, "summary": {problem, warning, unknown, ok, text}, '
                             '"findings": [{check, status, summary, fix, details}]}')
    parser.add_argument("--help", action="help")
    parser.set_defaults(handler=cmd_doctor)


async def cmd_doctor(args: argparse.Namespace) -> int:
    from tui.doctor import exit_code, render, run_checks, summary
    from tui.doctor.report import counts

    db = Database(options_from(args))
    try:
        findings = await run_checks(db)
    finally:
        await db.close()
    code = exit_code(findings)
    if args.json:
        print_json({"ok": code == 0,
                    "summary": {**counts(findings), "text": summary(findings)},
                    "findings": [f.as_dict() for f in findings]})
    else:
        # Wrapped by us to the terminal's width, so continuation lines keep their indent;
        # piped output keeps one line per item for grep.
        print(render(findings, terminal_width()))
    return code
