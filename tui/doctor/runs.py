"""Checks of the runs: stuck ones, fire times no run started at, and jobs that keep failing."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import timedelta

from tui.cron import UnknownZone, next_runs, parse, resolve_zone
from tui.db.fixes import mark_run_failed
from tui.doctor.base import (
    OK,
    PROBLEM,
    UNFINISHED,
    UNKNOWN,
    WARNING,
    Context,
    Finding,
    cannot_read,
    duration,
    finished_runs,
    first_line,
    job_label,
    median_s,
    scope_note,
)

# -- 3. stuck runs -------------------------------------------------------------------------

def stuck_check(ctx: Context) -> Finding:
    name = "runs.stuck"
    if blocked := cannot_read(ctx, name):
        return blocked
    assert ctx.jobs is not None
    now, limits = ctx.facts.now, ctx.limits
    details, fixes = [], []
    for job in ctx.jobs:
        runs = ctx.runs.get(job["jobid"], [])
        median = median_s(runs, limits.median_sample)
        allowed = max(limits.stuck_min_s, limits.stuck_factor * (median or 0))
        for run in runs:
            since = run.start_time or run.seen_after
            if run.status not in UNFINISHED or since is None:
                continue
            age = (now - since).total_seconds()
            if age <= allowed:
                continue
            usual = f"usually {duration(median)}" if median is not None else "no earlier run"
            where = ("its backend is gone" if run.pid_alive is False
                     else f"backend pid {run.job_pid}")
            details.append(f"{job_label(job)}: run {run.runid} {run.status!r} for "
                           f"{'at least ' if run.start_time is None else ''}{duration(age)} "
                           f"({usual}); {where}")
            if run.pid_alive:
                fixes.append(f"select pg_cancel_backend({int(run.job_pid or 0)});  "
                             f"-- run {run.runid}")
            else:
                fixes.append(mark_run_failed(run.runid))
    limit = duration(limits.stuck_min_s)
    if not details:
        return Finding(name, OK, f"No run has gone on longer than max({limit}, "
                                 f"{limits.stuck_factor:g}x its job's median) in "
                                 f"{ctx.runs_scope}{scope_note(ctx)}.")
    return Finding(name, PROBLEM,
                   f"{len(details)} run(s) have gone on far longer than their job usually takes.",
                   "\n".join(fixes), tuple(details))


# -- 4. missed runs ------------------------------------------------------------------------

def missed_check(ctx: Context) -> Finding:
    name = "runs.missed"
    if blocked := cannot_read(ctx, name):
        return blocked
    assert ctx.jobs is not None
    facts, limits, server = ctx.facts, ctx.limits, ctx.server or {}
    zone_name = facts.scheduler_timezone
    if zone_name is None and server.get("preload") is not None:
        # This role reads superuser-only settings, yet cron.timezone is not defined: pg_cron's
        # library is not loaded (see pg_cron.preload), and when it is, its default applies.
        zone_name = "GMT"
    if zone_name is None:
        return Finding(name, UNKNOWN,
                       f"Role {facts.current_user!r} may not read cron.timezone, so the times "
                       "the schedules fire at are unknown.",
                       f"as a superuser: grant pg_read_all_settings to {facts.current_user};")
    try:
        zone = resolve_zone(zone_name)
    except UnknownZone as exc:
        return Finding(name, UNKNOWN, f"cron.timezone is an {exc}, so fire times are "
                                      "unknown.")
    version = facts.pg_cron_grammar or "1.6"
    now = facts.now
    upper = now - timedelta(seconds=limits.missed_tolerance_s)
    # Runs missed while the server was down are never caught up: count only fire times after
    # the scheduler started. If it is known to be absent, every fire since counts.
    if server.get("launcher_pid") is not None:
        started = server["launcher_start"]
    elif facts.is_superuser or server.get("sees_processes"):
        started = None
    else:
        started = server.get("postmaster_start")
    earliest = now - timedelta(hours=limits.missed_hours)
    tolerance = timedelta(seconds=limits.missed_tolerance_s)
    early = timedelta(seconds=5)
    details: list[str] = []
    worst = 0
    unchecked = 0
    checked = 0
    for job in ctx.jobs[: limits.max_jobs]:
        schedule = parse(job["schedule"], version)
        if not job["active"] or schedule is None or schedule.kind != "cron":
            continue
        runs = ctx.runs.get(job["jobid"], [])
        starts_known = [r.start_time for r in runs if r.start_time is not None]
        if not starts_known:
            unchecked += 1  # no run seen: pg_cron keeps no creation time to count from
            continue
        checked += 1
        lower = max(min(starts_known), earliest, *([started] if started else []))
        if lower >= upper:
            continue
        fires = [t for t in next_runs(job["schedule"], lower, zone, limits.max_fires_per_job,
                                      version=version) if t <= upper]
        ordered = sorted((r for r in runs if r.start_time is not None),
                         key=lambda r: r.start_time)  # type: ignore[arg-type,return-value]
        starts = [r.start_time for r in ordered]
        missed = []
        for t in fires:
            i = bisect_left(starts, t - early)
            if i < len(starts) and starts[i] <= t + tolerance:  # type: ignore[operator]
                continue
            j = bisect_right(starts, t) - 1  # the run going on at t, if any, queued this fire
            if j >= 0:
                prev = ordered[j]
                if prev.status in UNFINISHED or (prev.end_time and prev.end_time >= t - early):
                    continue
            missed.append(t)
        if missed:
            worst = max(worst, len(missed))
            details.append(
                f"{job_label(job)} {job['schedule']!r}: missed {len(missed)} of {len(fires)} "
                f"expected runs since {lower.astimezone(zone):%Y-%m-%d %H:%M} {zone_name}; "
                f"latest missed {missed[-1]:%Y-%m-%d %H:%M} {zone_name}")
    notes = []
    if unchecked:
        notes.append(f"{unchecked} active job(s) without a recorded run in {ctx.runs_scope} "
                     "were not checked (pg_cron records no creation time)")
    if started:
        notes.append(f"fire times before the scheduler started ({started:%Y-%m-%d %H:%M %Z}) "
                     "are not counted")
    note = ("; " + "; ".join(notes)) if notes else ""
    if not details:
        return Finding(name, OK, f"No job missed a time its schedule gave in the last "
                                 f"{limits.missed_hours:g} h ({checked} checked){scope_note(ctx)}"
                                 f"{note}.")
    fix = ("see scheduler.running first; otherwise read the server log's pg_cron lines around "
           "the missed times, and if runs queue behind long ones raise "
           "cron.max_running_jobs in postgresql.conf (then restart PostgreSQL)")
    return Finding(name, PROBLEM if worst >= 3 else WARNING,
                   f"{len(details)} job(s) did not start at times their schedule says they "
                   f"should have{note}.", fix, tuple(details))


# -- 5. failing jobs ---------------------------------------------------------------------

def failing_check(ctx: Context) -> Finding:
    name = "jobs.failing"
    if blocked := cannot_read(ctx, name):
        return blocked
    assert ctx.jobs is not None
    streak_min = ctx.limits.failing_streak
    details, fixes, failing = [], [], []
    for job in ctx.jobs:
        finished = finished_runs(ctx.runs.get(job["jobid"], []))
        streak = 0
        for run in reversed(finished):
            if run.status != "failed":
                break
            streak += 1
        if streak < streak_min:
            continue
        more = "+" if streak == len(finished) else ""
        failing.append(job)
        details.append(f"{job_label(job)}: the last {streak}{more} finished runs failed; latest: "
                       f"{first_line(finished[-1].message) or '(no message)'}")
        fixes.append(f"select cron.alter_job({job['jobid']}, active := false);  "
                     f"-- pause {job_label(job)} until its command is fixed")
    if not details:
        return Finding(name, OK, f"No job's last {streak_min} finished runs all failed "
                                 f"({ctx.runs_scope}){scope_note(ctx)}.")
    first, *others = [f"--job '#{job['jobid']}'" for job in failing]
    also = f" (then {', '.join(others)})" if others else ""
    fix = (f"fix each command (cronjobs-tui runs --status failed {first}{also} shows the "
           "errors), or pause it:\n" + "\n".join(fixes))
    return Finding(name, PROBLEM, f"{len(details)} job(s) fail again and again.", fix,
                   tuple(details))
