"""Fire times no run started at: explain's matcher (tui/insight/explain.py) over the runs the
doctor read, each time judged by tui/rules.py's is_missed, so the doctor, `explain` and the
detail view call the same times missed. A time whose evidence is missing (history not read,
before the job's first run, the server or launcher down, a standby) is not missed: unknown."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from tui.cron import UnknownZone, parse, resolve_zone
from tui.doctor.base import (
    OK,
    PROBLEM,
    UNKNOWN,
    WARNING,
    Context,
    Finding,
    cannot_read,
    job_label,
    scope_note,
)
from tui.insight.explain import Evidence, RunRow, explain, scheduled_times

#: This many missed times for one job make a problem; fewer a warning.
MISSED_PROBLEM = 3


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
    # A start this late still counts for its time: the newest times are judged later.
    upper = now - timedelta(seconds=limits.missed_tolerance_s)
    earliest = now - timedelta(hours=limits.missed_hours)
    every = [RunRow(r.runid, r.jobid, r.status, r.start_time, r.end_time)
             for runs in ctx.runs.values() for r in runs]
    starts = [r.start_time for r in every if r.start_time is not None]
    ev = Evidence(now=now, launcher_start=server.get("launcher_start"),
                  launcher_known=(server.get("launcher_pid") is not None or facts.is_superuser
                                  or bool(server.get("sees_processes"))),
                  postmaster_start=server.get("postmaster_start"),
                  in_recovery=facts.in_recovery,
                  max_running_jobs=server.get("max_running_jobs"),
                  oldest_start=min(starts) if starts else None, read_back_to=None,
                  sees_all=facts.sees_all)
    details: list[str] = []
    unknown: Counter[str] = Counter()
    worst = checked = unchecked = 0
    for job in ctx.jobs[: limits.max_jobs]:
        schedule = parse(job["schedule"], version)
        if not job["active"] or schedule is None or schedule.kind != "cron":
            continue
        mine = [r for r in every if r.jobid == job["jobid"]]
        own = [r.start_time for r in mine if r.start_time is not None]
        if not own:
            unchecked += 1  # no run seen: pg_cron keeps no creation time to count from
            continue
        checked += 1
        lower = max(min(own), earliest)
        slots = scheduled_times(job["schedule"], lower, upper, zone,
                                version)[: limits.max_fires_per_job]
        missed = []
        for o in explain(slots, mine, every, ev):
            verdict = o.missed  # tui/rules.py's is_missed
            if verdict:
                missed.append(o.scheduled)
            elif verdict is None and o.outcome != "not_created":
                unknown[o.outcome] += 1
        if missed:
            worst = max(worst, len(missed))
            details.append(
                f"{job_label(job)} {job['schedule']!r}: missed {len(missed)} of {len(slots)} "
                f"expected runs since {lower.astimezone(zone):%Y-%m-%d %H:%M} {zone_name}; "
                f"latest missed {missed[-1].astimezone(zone):%Y-%m-%d %H:%M} {zone_name}")
    notes = []
    if unchecked:
        notes.append(f"{unchecked} active job(s) without a recorded run in {ctx.runs_scope} "
                     "were not checked (pg_cron records no creation time)")
    if unknown:
        why = ", ".join(f"{n} {outcome.replace('_', ' ')}" for outcome, n in unknown.items())
        notes.append(f"{sum(unknown.values())} fire time(s) are unknown, not missed ({why}; "
                     "cronjobs-tui explain JOB says why)")
    note = ("; " + "; ".join(notes)) if notes else ""
    if not details:
        return Finding(name, OK, f"No job missed a time its schedule gave in the last "
                                 f"{limits.missed_hours:g} h ({checked} checked){scope_note(ctx)}"
                                 f"{note}.")
    fix = ("read the server log's pg_cron lines around the missed times (cronjobs-tui explain "
           "JOB lists them with what the history says), and if runs queue behind long ones "
           "raise cron.max_running_jobs in postgresql.conf (then restart PostgreSQL)")
    return Finding(name, PROBLEM if worst >= MISSED_PROBLEM else WARNING,
                   f"{len(details)} job(s) did not start at times their schedule says they "
                   f"should have, while the scheduler ran{note}.", fix, tuple(details))
