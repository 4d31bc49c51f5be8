"""`cronjobs-tui plan FILE` and `cronjobs-tui apply FILE`: jobs as code."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.cli import types
from tui.cli.output import FOUND, OK, REFUSED, confirm, print_json, print_lines
from tui.plan.jobs_file import JobsFileError

PLAN_EPILOG = """\
A job in FILE is the server's job with the same name and user (FILE's `user`, else the role
that connects). Jobs not in FILE are left alone and listed, unless --prune: then every other
job this role can see is to be deleted. Commands are masked in the output.

exit status: 0 no drift, 1 drift (changes to make), 2 errors (a bad file, a schedule or name
the server refuses, no connection)."""

APPLY_EPILOG = """\
Shows the plan, asks for confirmation (--yes skips it, for scripts), then writes it in ONE
transaction: the jobs are read again and must not have changed since the plan, the server
judges every schedule first, and any refusal rolls everything back (nothing is written).

exit status: 0 applied (or nothing to do), 2 not confirmed or errors (nothing written)."""


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    for name, helptext, epilog in (
            ("plan", "show how the server differs from a jobs file", PLAN_EPILOG),
            ("apply", "make the server's jobs match a jobs file, in one transaction",
             APPLY_EPILOG)):
        p = subparsers.add_parser(name, parents=[connection_parent], add_help=False,
                                  help=helptext, description=helptext[0].upper() + helptext[1:],
                                  epilog=epilog,
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("file", metavar="FILE", type=types.toml_file,
                       help="the jobs file (TOML, [[job]] tables)")
        p.add_argument("--prune", action="store_true",
                       help="also delete the jobs this role can see that FILE does not "
                            "declare")
        if name == "plan":
            p.add_argument("--json", action="store_true", help="a JSON object")
            p.set_defaults(handler=run_plan)
        else:
            p.add_argument("--yes", action="store_true",
                           help="apply without asking (for scripts)")
            p.set_defaults(handler=run_apply)
        p.add_argument("--help", action="help", help="show this help and exit")


async def _plan(args: argparse.Namespace) -> Any:
    from tui.cli.options import options_from
    from tui.db import Database
    from tui.plan import jobs_file, make_plan

    spec = jobs_file.load(args.file)
    db = Database(options_from(args))
    return db, await make_plan(db, spec, prune=args.prune)


async def run_plan(args: argparse.Namespace) -> int:
    from tui.plan import render, to_json

    try:
        db, plan = await _plan(args)
    except JobsFileError as exc:
        print(f"cronjobs-tui: {exc}", file=sys.stderr)
        return REFUSED
    await db.close()
    if args.json:
        print_json(to_json(plan))
    else:
        print_lines(render(plan))
    if plan.errors:
        return REFUSED
    return FOUND if plan.drift else OK


async def run_apply(args: argparse.Namespace) -> int:
    from tui.db import DatabaseError
    from tui.masking import mask
    from tui.plan import apply, render

    try:
        db, plan = await _plan(args)
    except JobsFileError as exc:
        print(f"cronjobs-tui: {exc}", file=sys.stderr)
        return REFUSED
    try:
        print_lines(render(plan))
        if plan.errors:
            print("cronjobs-tui: the plan has errors; nothing was written", file=sys.stderr)
            return REFUSED
        if not plan.drift:
            return OK
        if db.opts.read_only:
            print("cronjobs-tui: read-only (--read-only, the config or a prod profile): "
                  "nothing was written", file=sys.stderr)
            return REFUSED
        if not args.yes and not _confirm(f"Apply {len(plan.items)} change(s) to "
                                          f"{plan.server}?"):
            print("Not applied: nothing was written.")
            return REFUSED
        try:
            count = await apply(db, plan)
        except DatabaseError as exc:
            print(f"cronjobs-tui: {mask(str(exc))}", file=sys.stderr)
            return REFUSED
        print(f"Applied {count} change(s) to {plan.server} in one transaction.")
        return OK
    finally:
        await db.close()


def _confirm(question: str) -> bool:
    return confirm(question, f"{question} (no terminal to ask on: pass --yes to apply from a "
                             "script)")
