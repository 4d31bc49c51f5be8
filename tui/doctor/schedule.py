"""Schedules as pg_cron reads them: written in another cron's dialect (schedule.dialect), and
whether our engine's fire times held on this server (schedule.accuracy)."""

from __future__ import annotations

from typing import Any

from tui.audit import AuditLog
from tui.audit import default_path as audit_path
from tui.cron import dialect_warnings, next_runs
from tui.db import Database, DatabaseError
from tui.doctor.base import OK, UNKNOWN, WARNING, Context, Finding, job_label
from tui.insight.accuracy import BUG, MAX_CASES, Engine
from tui.insight.accuracy_gather import DAYS, accuracy
from tui.masking import mask
from tui.models import Job

#: Audit entries read for schedule changes and pauses (a busy week of edits fits).
AUDIT_TAIL = 100_000


def dialect_check(ctx: Context) -> Finding:
    name = "schedule.dialect"
    if ctx.jobs is None:
        return Finding(name, UNKNOWN, f"Could not read cron.job: {ctx.jobs_error}.")
    version = ctx.facts.pg_cron_grammar or "1.6"
    details = [mask(f"{job_label(job)} {job['schedule']!r}: {w}") or "" for job in ctx.jobs
               for w in dialect_warnings(job["schedule"], version)]
    if not details:
        return Finding(name, OK, "No schedule is written in another cron's dialect (seconds or "
                                 "year fields, '?', '#n').")
    return Finding(name, WARNING,
                   f"{len(details)} schedule(s) look like another cron's and pg_cron reads "
                   "them otherwise: each line says what it will really do.",
                   "rewrite each as five pg_cron fields: select cron.alter_job(JOBID, "
                   "schedule := 'MIN HOUR DOM MONTH DOW');", tuple(details))


async def accuracy_check(db: Database, ctx: Context,
                         audit_entries: list[dict[str, Any]] | None = None,
                         engine: Engine = next_runs, days: float = DAYS) -> Finding:
    name = "schedule.accuracy"
    if ctx.jobs is None:
        return Finding(name, UNKNOWN, f"Could not read cron.job: {ctx.jobs_error}.")
    if audit_entries is None:
        audit_entries = AuditLog(audit_path()).tail(AUDIT_TAIL)
    # Each job's times are matched against every run (the slots they held): bounded, as the
    # missed-runs check is.
    jobs = [Job(j["jobid"], j["jobname"], j["schedule"], j["command"], j["database"],
                j["username"], j["active"]) for j in ctx.jobs[:ctx.limits.max_jobs]]
    try:
        result = await accuracy(db, ctx.facts, jobs, audit_entries, days=days, engine=engine)
    except DatabaseError as exc:
        if exc.lost:
            raise
        return Finding(name, UNKNOWN, f"Could not judge the fire times: {exc}.")
    data = result.as_dict()
    summary = result.sentence() + "."
    if len(ctx.jobs) > len(jobs):
        summary += f" (The first {len(jobs)} of {len(ctx.jobs)} jobs.)"
    if not ctx.facts.sees_all:
        summary += f" (Role {ctx.facts.current_user!r} sees only its own jobs and runs.)"
    if not result.unexplained:
        return Finding(name, OK, summary, data=data)
    details = tuple(mask(f"{c.job} at {c.at.isoformat(timespec='seconds')}: {c.reason}") or ""
                    for c in result.unexplained[:MAX_CASES])
    return Finding(name, WARNING, f"{summary} {BUG}", None, details, data)
