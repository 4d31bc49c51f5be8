"""`cronjobs-tui run JOB`, `pause JOB`, `resume JOB`: the TUI's `t` and `s`, for runbooks.

Each reads the job fresh, says what it is about to do, asks on a terminal (or takes --yes),
refuses in read-only mode, and is written to the audit log as the TUI's actions are.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from typing import Any

from tui.cli import types
from tui.cli.output import FOUND, OK, REFUSED, confirm
from tui.format import server_label
from tui.log import swallowing

RUN_EPILOG = """\
JOB is a job name or #id. The job is read fresh from the server and run as pg_cron would run
it: in its database, logged in as its role (when that login is refused, nothing runs unless
--as-self is given), on its node (cron.job's nodename and nodeport), as one plain query, and
recorded in cron.job_run_details when this role may write there. --timeout sets a time limit
for this run alone; without it, only the server's own statement_timeout applies. If a run of
the job is in progress, it asks, and --yes alone does not run it: add --overlap. A hang-up,
Ctrl+C or SIGTERM during the run cancels it on the server and records it failed.

exit status: 0 the run succeeded, 1 the run failed, 2 usage error, refusal or nothing done."""

STATE_EPILOG = """\
JOB is a job name or #id. The state is set, never toggled: {verb} of a job already {state}
changes nothing and says so. {note}

exit status: 0 done (or already so), 2 usage error, refusal or nothing done."""


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "run", parents=[connection_parent], add_help=False,
        help="run a job now, as pg_cron would (recorded, audited)",
        description="Run a job now, as pg_cron would, and wait for its end.",
        epilog=RUN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", metavar="JOB", type=types.job_ref, help="the job's name or #id")
    p.add_argument("--yes", action="store_true", help="run without asking (for scripts)")
    p.add_argument("--timeout", type=types.seconds(0, 7 * 86400, above=True),
                   metavar="SECONDS",
                   help="time limit for this run (default: none beyond the server's own "
                        "statement_timeout)")
    p.add_argument("--overlap", action="store_true",
                   help="run even while a run of the job is in progress")
    p.add_argument("--as-self", action="store_true",
                   help="if the job's role may not log in, run it as this login (with SET "
                        "ROLE when allowed; the command could undo that)")
    p.add_argument("--help", action="help", help="show this help and exit")
    p.set_defaults(handler=run)
    for verb, state, note in (
            ("pause", "paused", "pg_cron cancels a run of the job in progress."),
            ("resume", "active", "pg_cron starts it again on its schedule.")):
        q = subparsers.add_parser(
            verb, parents=[connection_parent], add_help=False,
            help=f"{verb} a job (set active = {'false' if verb == 'pause' else 'true'})",
            description=f"{verb.capitalize()} a job.",
            epilog=STATE_EPILOG.format(verb=verb, state=state, note=note),
            formatter_class=argparse.RawDescriptionHelpFormatter)
        q.add_argument("job", metavar="JOB", type=types.job_ref, help="the job's name or #id")
        q.add_argument("--yes", action="store_true", help="do it without asking (for scripts)")
        q.add_argument("--help", action="help", help="show this help and exit")
        q.set_defaults(handler=set_state, active=verb == "resume")


def _say(text: str) -> None:
    print(f"cronjobs-tui: {text}", file=sys.stderr)


def _confirm(question: str, yes: bool) -> bool:
    """--yes, or a 'y' typed on a terminal; never a guess from a pipe."""
    return yes or confirm(question, f"cronjobs-tui: {question} (no terminal to ask on: pass "
                                    "--yes from a script); nothing done")


def _find(wanted: str, jobs: list[Any], facts: Any) -> int:
    from tui.cli.resolve import resolve_job

    return int(resolve_job(wanted, jobs, facts).jobid)


async def _open(args: argparse.Namespace) -> tuple[Any, Any, Any] | None:
    """The session, its facts, and the audit log; None when refused (read-only mode, no
    server, no pg_cron), after saying why."""
    from tui.audit import AuditLog, default_path
    from tui.cli.options import options_from
    from tui.db import Database, DatabaseError
    from tui.db.actions import refusal, refuse_read_only_mode
    from tui.db.client import require_pg_cron

    db = Database(options_from(args))
    try:
        refuse_read_only_mode(db)
        facts = await db.facts()
        require_pg_cron(facts)
    except BaseException as exc:
        await db.close()
        if isinstance(exc, DatabaseError):
            _say(refusal(exc))
            return None
        raise
    return db, facts, AuditLog(default_path())


def _audit(log: Any, facts: Any, action: str, job: str, **fields: Any) -> None:
    log.record(action, server=server_label(facts),
               role=facts.current_user, job=job, **fields)


async def run(args: argparse.Namespace) -> int:
    from tui.db import DatabaseError, actions
    from tui.masking import mask
    from tui.text import one_line

    if args.timeout is not None and not 0 < args.timeout <= 7 * 86400:
        _say("--timeout takes seconds above 0 (at most 7 days); nothing was run")
        return REFUSED
    timeout_ms = max(int(args.timeout * 1000), 1) if args.timeout else None
    opened = await _open(args)
    if opened is None:
        return REFUSED
    db, facts, log = opened
    label = args.job
    try:
        jobid = _find(args.job, await db.jobs(indexed=False), facts)
        plan = await actions.plan_run(db, jobid)
        job = plan.job
        label = one_line(job.label)
        limit = f"{timeout_ms / 1000:g} s" if timeout_ms else "none beyond the server's own"
        print(f"job {label}: {one_line(mask(job.command))}")
        print(f"as {one_line(job.username)} in database {one_line(job.database)}, on "
              f"{one_line(plan.target.where)}; time limit: {limit}")
        for going in plan.running:
            print(f"{going.describe()} is in progress: pg_cron never runs a job twice at once")
        if plan.running and args.yes and not args.overlap:
            _say("a run of this job is in progress: pass --overlap to run it anyway; nothing "
                 "was run")
            return REFUSED
        question = "Run it now" + (", overlapping the run in progress?" if plan.running
                                   else "?")
        if not _confirm(question, args.yes):
            return REFUSED
        trigger = actions.TriggerRun(db, job, as_self=args.as_self, timeout_ms=timeout_ms,
                                     target=plan.target)
        try:
            await _until_hang_up(trigger)
        except actions.NeedsConfirmation as exc:
            _say(f"{exc}; nothing was run: pass --as-self to run it that way")
            _audit(log, facts, "trigger", job.label, before=job, outcome="refused",
                   detail=str(exc))
            return REFUSED
    except DatabaseError as exc:
        _say(actions.refusal(exc))
        with swallowing("writing the refusal to the audit log"):
            _audit(log, facts, "trigger", label, outcome="refused", detail=str(exc))
        return REFUSED
    finally:
        await db.close()
    _audit(log, facts, "trigger", job.label, before=job, outcome=trigger.status,
           detail=f"{'recorded' if trigger.recorded else 'not recorded'}, as {trigger.role}, "
                  f"on {plan.target.where}, time limit {limit}: {trigger.message} "
                  "(cronjobs-tui run)")
    runid = f" (run #{trigger.runid})" if trigger.runid else " (not recorded)"
    print(f"{trigger.status}{runid}: {one_line(mask(trigger.message), 400)}")
    return OK if trigger.status == "succeeded" else FOUND


async def _until_hang_up(trigger: Any) -> None:
    """Run it; a hang-up or SIGTERM (Ctrl+C too) cancels it on the server and records it
    failed, instead of leaving its row 'running' until pg_cron restarts."""
    loop = asyncio.get_running_loop()
    task = asyncio.ensure_future(trigger.run())
    installed = []
    stopped: list[str] = []

    def stop(reason: str) -> None:
        if stopped:  # a closed terminal sends SIGHUP again: once is enough
            return
        stopped.append(reason)
        trigger.stopping(reason)
        task.cancel()

    for sig, reason in ((signal.SIGHUP, "the terminal hung up"),
                        (signal.SIGTERM, "cronjobs-tui was terminated"),
                        (signal.SIGINT, "interrupted (Ctrl+C)")):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop, reason)
            installed.append(sig)
    try:
        await task
    except asyncio.CancelledError:
        if trigger.finished and stopped:  # ended by a signal, and recorded: say how
            return
        raise
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)


async def set_state(args: argparse.Namespace) -> int:
    from tui.db import DatabaseError, actions
    from tui.text import one_line

    verb = "resume" if args.active else "pause"
    opened = await _open(args)
    if opened is None:
        return REFUSED
    db, facts, log = opened
    label = args.job
    try:
        await actions.check_writable(db)
        job = await actions.get_job(db, _find(args.job, await db.jobs(indexed=False), facts))
        label = job.label
        shown = one_line(job.label)
        if job.active == args.active:
            print(f"job {shown} is already {'active' if job.active else 'paused'}: nothing "
                  "to do")
            return OK
        print(f"job {shown} ({one_line(job.schedule)}) is "
              f"{'active' if job.active else 'paused'}")
        if not _confirm(f"{verb.capitalize()} it?", args.yes):
            return REFUSED
        try:
            fresh = await actions.set_active(db, job.jobid, args.active)
        except DatabaseError as exc:
            _audit(log, facts, verb, job.label, before=job, outcome="error", detail=str(exc))
            raise
    except DatabaseError as exc:
        _say(actions.refusal(exc))
        return REFUSED
    finally:
        await db.close()
    _audit(log, facts, verb, label, before=job, after=fresh,
           detail=f"cronjobs-tui {verb}")
    print(f"job {shown} is now {'active' if fresh.active else 'paused'}")
    return OK
