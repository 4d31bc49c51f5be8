"""`cronjobs-tui doctor`: what stops pg_cron from running jobs, each with the fix.

`run_checks(db)` returns plain `Finding`s (for tui/cli/doctor.py and for a TUI screen). Every
query is bounded (the runid primary key, the (jobid, runid) index when present, the catalog for
sizes) and has the Database's statement timeout. A check this role may not look at says
'unknown' and why, rather than guessing.

The checks live by what they look at: `server` (pg_cron itself, the scheduler, primary or
standby), `runs` (stuck, orphaned, failing), `missed` (fire times, through explain's matcher),
`jobs` (as written: missing needs, owners, host and port), `history` (the run history and
pg_net's answers); `base` holds what they share and `report` the human output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from tui.db import Database, DatabaseError
from tui.db.actions import INSUFFICIENT_PRIVILEGE
from tui.db.client import Read
from tui.db.insight import jobs_read, recent_read
from tui.doctor.base import (
    CHECKS,
    OK,
    PROBLEM,
    STATUSES,
    UNKNOWN,
    WARNING,
    Context,
    Finding,
    Limits,
    Run,
    try_fetch,
    try_fetch_many,
    why_not,
)
from tui.doctor.history import INDEX, PURGE, history_checks, pg_net_ttl_check
from tui.doctor.jobs import broken_check, node_check, owners_check
from tui.doctor.missed import missed_check
from tui.doctor.report import MARKERS, render, summary, worst_first
from tui.doctor.runs import failing_check, orphaned_check, stuck_check
from tui.doctor.schedule import accuracy_check, dialect_check
from tui.doctor.server import pg_cron_checks, primary_check, scheduler_check
from tui.http_jobs import is_http_job
from tui.rules import usuals_from_rows

__all__ = ["CHECKS", "INDEX", "MARKERS", "OK", "PROBLEM", "PURGE", "STATUSES", "UNKNOWN",
           "WARNING", "Finding", "Limits", "exit_code", "render", "run_checks", "summary",
           "worst_first"]


# -- the entry point -------------------------------------------------------------------

async def run_checks(db: Database, limits: Limits | None = None) -> list[Finding]:
    """Every check of CHECKS, in order. Connection errors raise DatabaseError."""
    limits = limits or Limits()
    try:
        facts = await db.facts()
    except DatabaseError as exc:
        if exc.lost or exc.sqlstate != INSUFFICIENT_PRIVILEGE:
            raise
        # facts.sql names cron.job_run_details: without USAGE on schema cron it cannot run.
        return [Finding(c, UNKNOWN, f"This role may not look at pg_cron at all ({exc}).",
                        "as a superuser: grant usage on schema cron to ROLE;") for c in CHECKS]
    ctx = Context(facts=facts, limits=limits)
    if facts.pg_cron_version is None:
        rows, error = await try_fetch(db, "doctor_server")
    else:  # the server, the jobs and the history's size in one round trip
        (rows, error), jobs_answer, ctx.prefetched["doctor_history_size"] = \
            await try_fetch_many(db, [("doctor_server", None), ("doctor_jobs", None),
                                      ("doctor_history_size", None)])
    if rows:
        ctx.server = rows[0]
    else:
        ctx.server_error = why_not(error, facts) if error else "no answer"

    findings = [*pg_cron_checks(ctx)]
    if facts.pg_cron_version is None:
        findings += [scheduler_check(ctx), primary_check(ctx)]
        where = facts.cron_database_name
        why = (f"pg_cron is not created in database {facts.database!r}"
               + (f" (its jobs are in {where!r})" if where and where != facts.database else "")
               + ", so there is nothing to look at here.")
        done = {f.check for f in findings}
        findings += [Finding(c, UNKNOWN, why) for c in CHECKS if c not in done]
        return findings

    rows, error = jobs_answer
    if rows is not None:
        ctx.jobs = rows
        await _load_runs(db, ctx)
    else:
        ctx.jobs_error = why_not(error, facts) if error else "no answer"
    findings += [scheduler_check(ctx), primary_check(ctx)]
    findings += [stuck_check(ctx), orphaned_check(ctx), missed_check(ctx), failing_check(ctx),
                 broken_check(ctx), owners_check(ctx), node_check(ctx)]
    findings += await history_checks(db, ctx)
    findings.append(await pg_net_ttl_check(db, ctx))
    findings += [dialect_check(ctx), await accuracy_check(db, ctx)]
    if not facts.cron_usage:
        # One cause behind every "could not read": say the one fix on each of them.
        grant = f"as a superuser: grant usage on schema cron to {facts.current_user};"
        findings = [replace(f, fix=grant) if f.status == UNKNOWN and f.fix is None
                    and "permission denied for schema cron" in f.summary else f
                    for f in findings]
    return findings


def exit_code(findings: Sequence[Finding]) -> int:
    """0 when every check is ok or unknown, 1 when any says warning or problem."""
    return 1 if any(f.status in (WARNING, PROBLEM) for f in findings) else 0


async def _load_runs(db: Database, ctx: Context) -> None:
    facts, limits = ctx.facts, ctx.limits
    assert ctx.jobs is not None
    if facts.has_run_index:
        per_job = max(limits.min_per_job,
                      min(limits.max_per_job, limits.run_budget // max(len(ctx.jobs), 1)))
        runs_read: Read = ("doctor_runs_indexed", {"per_job": per_job})
        ctx.runs_scope = f"the newest {per_job} runs of each job"
    else:
        runs_read = ("doctor_runs_lookback", {"lookback": limits.run_budget})
        ctx.runs_scope = f"the newest {limits.run_budget} runs"
    # The runs and each job's usual (for "stuck": the same read and sample as every surface,
    # tui/rules.py) in one round trip, with what later checks will read: without the index,
    # every job's last run in the look-back; with HTTP jobs, pg_net's ttl. Without the usual,
    # its floor applies, as for a job with no earlier run.
    ahead: list[Read] = []
    if not facts.has_run_index:
        ahead.append(jobs_read(indexed=False))
    if any(j["active"] and is_http_job(j.get("command")) for j in ctx.jobs):
        ahead.append(("doctor_pg_net_ttl", None))
    (rows, error), (recent, _), *answers = await try_fetch_many(
        db, [runs_read, recent_read(), *ahead])
    ctx.prefetched.update({name: answer for (name, _), answer in zip(ahead, answers)})
    ctx.usual = usuals_from_rows(recent) if recent is not None else {}
    if rows is None:
        ctx.runs_error = why_not(error, facts) if error else "no answer"
        return
    for row in rows:
        ctx.runs.setdefault(row["jobid"], []).append(Run(**row))
