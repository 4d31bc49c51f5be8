"""Checks of what accumulates: the run history (its size, the (jobid, runid) index, jobs whose
last run cannot be told without it) and pg_net's answers, deleted before anyone reads them.
"""

from __future__ import annotations

from datetime import datetime

from tui.cron import next_runs, parse
from tui.db import Database
from tui.db.fixes import create_run_index, purge_history
from tui.db.insight import jobs_of, jobs_read
from tui.doctor.base import (
    OK,
    UNKNOWN,
    WARNING,
    Context,
    Finding,
    duration,
    job_label,
    quote,
    scope_note,
    why_not,
)
from tui.format import not_in_lookback
from tui.http_jobs import is_http_job

# -- 8. the run history ------------------------------------------------------------------

PURGE = purge_history()
INDEX = create_run_index()


async def history_checks(db: Database, ctx: Context) -> list[Finding]:
    facts, limits = ctx.facts, ctx.limits
    rows, error = await ctx.fetch(db, "doctor_history_size")
    rows_estimate: int | None = None
    if rows:
        rows_estimate = rows[0]["rows_estimate"]
        if rows_estimate is not None:
            summary = (f"cron.job_run_details holds about {rows_estimate:,} rows in "
                       f"{rows[0]['total_pretty']}")
        else:
            # reltuples is -1 until the first VACUUM or ANALYZE: say what that means.
            summary = (f"cron.job_run_details takes {rows[0]['total_pretty']}; how many rows "
                       "it holds is unknown until PostgreSQL first analyzes it (autovacuum "
                       "does as it grows; or run: analyze cron.job_run_details)")
        if rows_estimate is not None and rows_estimate > limits.size_warn_rows:
            size = Finding("history.size", WARNING,
                           f"{summary}, over {limits.size_warn_rows:,}: pg_cron never deletes "
                           "run history.", PURGE)
        else:
            size = Finding("history.size", OK, f"{summary}.")
    else:
        why = why_not(error, facts) if error else "the table is missing"
        size = Finding("history.size", UNKNOWN, f"Could not look: {why}.")

    if facts.has_run_index:
        index = Finding("history.index", OK,
                        "cron.job_run_details has a (jobid, runid) index: a job's latest runs "
                        "are cheap to find.")
    elif rows_estimate is not None and rows_estimate >= limits.index_warn_rows:
        index = Finding("history.index", WARNING,
                        f"cron.job_run_details has no (jobid, runid) index and about "
                        f"{rows_estimate:,} rows: finding each job's latest run means reading "
                        "far back (pg_cron does not create this index).", INDEX)
    else:
        index = Finding("history.index", OK,
                        "cron.job_run_details has no (jobid, runid) index, which is fine while "
                        f"it is below {limits.index_warn_rows:,} rows; create it as it grows.",
                        INDEX)
    return [size, index, await _last_runs(db, ctx)]


async def _last_runs(db: Database, ctx: Context) -> Finding:
    """Jobs whose last run the TUI and `jobs` cannot tell: without the index they search the
    newest LOOKBACK_RUNS runs only, and a job with none there may have run before."""
    name, facts = "history.last_runs", ctx.facts
    if facts.has_run_index:
        return Finding(name, OK, "The (jobid, runid) index finds every job's last run.")
    rows, error = await ctx.fetch(db, *jobs_read(indexed=False))
    if rows is None:
        return Finding(name, UNKNOWN, "Could not look: "
                                      f"{why_not(error, facts) if error else 'no answer'}.")
    unknown = [j for j in jobs_of(rows) if not j.last_run_known]
    if not unknown:
        return Finding(name, OK, "Every job's last run is known: each has a run among the "
                                 "newest runs searched, or the search covered the whole "
                                 f"history{scope_note(ctx)}.")
    searched = unknown[0].last_run_lookback or 0
    shown = 20
    details = tuple(f"{job_label({'jobid': j.jobid, 'jobname': j.jobname})}: {j.schedule}"
                    + ("" if j.active else ", paused") for j in unknown[:shown])
    if len(unknown) > shown:
        details += (f"... and {len(unknown) - shown} more",)
    return Finding(
        name, WARNING,
        f"{len(unknown)} job(s) have no run among the newest {searched:,} runs, the only ones "
        "searched for last runs without a (jobid, runid) index: their last run is unknown "
        f"(shown as '{not_in_lookback(searched)}', and \"last_run_known\": false in "
        f"jobs --json), though they may have run before{scope_note(ctx)}.",
        "in the TUI: m (maintenance), then Create index; or as a superuser:\n" + INDEX,
        details)


def _every_s(schedule: str, version: str, now: datetime) -> float | None:
    """The longest gap between a schedule's next few fire times (UTC: a DST hour is noise
    here), or None when it does not fire regularly."""
    parsed = parse(schedule, version)
    if parsed is None:
        return None
    if parsed.kind == "seconds" and parsed.seconds is not None:
        return float(parsed.seconds)
    fires = next_runs(schedule, now, "UTC", 4, version=version)
    if len(fires) < 2:
        return None
    return max((b - a).total_seconds() for a, b in zip(fires, fires[1:]))


async def pg_net_ttl_check(db: Database, ctx: Context) -> Finding:
    """pg_net deletes its answers after pg_net.ttl: for an HTTP job that runs less often, the
    last run's answer (the only sign the endpoint failed) is gone before the next run, and
    usually before anyone looks."""
    name = "http.ttl"
    http_jobs = [j for j in ctx.jobs or [] if j["active"] and is_http_job(j.get("command"))]
    if ctx.jobs is None:
        return Finding(name, UNKNOWN, f"Could not read cron.job: {ctx.jobs_error}.")
    if not http_jobs:
        return Finding(name, OK, f"No active job calls pg_net{scope_note(ctx)}.")
    rows, error = await ctx.fetch(db, "doctor_pg_net_ttl")
    if rows is None:
        return Finding(name, UNKNOWN, "Could not read pg_net.ttl: "
                                      f"{why_not(error, ctx.facts) if error else 'no answer'}.")
    ttl, ttl_s = rows[0]["ttl"], rows[0]["ttl_s"]
    if ttl_s is None:
        return Finding(name, UNKNOWN, "pg_net.ttl is not defined here: pg_net's library is "
                                      "not loaded in this server.")
    version = ctx.facts.pg_cron_grammar or "1.6"
    details, longest = [], 0.0
    for job in http_jobs:
        every = _every_s(job["schedule"], version, ctx.facts.now)
        if every is not None and every > ttl_s:
            longest = max(longest, every)
            details.append(f"{job_label(job)}: runs every ~{duration(every)} ({job['schedule']})")
    if not details:
        return Finding(name, OK, f"pg_net keeps its answers ({ttl}) longer than any HTTP job's "
                                 f"interval{scope_note(ctx)}.")
    keep = f"{int(longest // 86400) + 1} days"
    return Finding(
        name, WARNING,
        f"pg_net deletes its answers after pg_net.ttl = {ttl}, before the next run of "
        f"{len(details)} HTTP job(s): what their endpoint answered (a 500, a timeout) is gone "
        "long before anyone could read it, and pg_cron's 'succeeded' only means the request "
        "was queued.",
        f"as a superuser: alter system set pg_net.ttl = {quote(keep)}; select pg_reload_conf();",
        tuple(details))
