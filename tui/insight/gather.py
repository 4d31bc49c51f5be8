"""Explain one job from a live server: the reads (through tui.db) fed to the pure matcher."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from tui import rules
from tui.cron import UnknownZone, parse, resolve_zone
from tui.db import Database, DatabaseError, liveness
from tui.db import insight as reads
from tui.format import server_label
from tui.insight.explain import (
    Evidence,
    Outcome,
    RunRow,
    explain,
    pauses_from_audit,
    scheduled_times,
)
from tui.models import Job, ServerFacts

#: Times this recent are not judged yet: the run may be about to start.
SETTLE = timedelta(seconds=60)


@dataclass(frozen=True)
class Explained:
    job: Job
    since: datetime
    until: datetime
    zone: str
    outcomes: list[Outcome]
    note: str | None  # why there are no outcomes, or what limits them


def audit_server(facts: ServerFacts) -> str:
    """The server as the app's audit log names it (tui/ui/app.py audit_server)."""
    return server_label(facts)


def run_rows(rows: list[dict[str, Any]]) -> list[RunRow]:
    return [RunRow(r["runid"], r["jobid"], r["status"], r["start_time"], r["end_time"],
                   r.get("message")) for r in rows]


def find_job(wanted: str, jobs: list[Job]) -> Job:
    for job in jobs:
        if job.jobname == wanted or f"#{job.jobid}" == wanted or str(job.jobid) == wanted:
            return job
    raise DatabaseError(f"no job named {wanted!r} is visible to this role")


def zone_of(facts: ServerFacts) -> str:
    tz = facts.scheduler_timezone
    if tz is None:
        raise DatabaseError(f"role {facts.current_user!r} may not read cron.timezone, so the "
                            "times the schedule gave are unknown (a superuser can run 'grant "
                            f"pg_read_all_settings to {facts.current_user}')")
    try:
        resolve_zone(tz)
    except UnknownZone as exc:
        raise DatabaseError(f"cron.timezone is an {exc}: the times the schedule gave are "
                            "unknown here") from exc
    return tz


async def explain_job(db: Database, facts: ServerFacts, job: Job, since: datetime | None,
                      audit_entries: list[dict[str, Any]] | None = None,
                      days: float = 7, settle: timedelta = SETTLE,
                      max_runs: int = reads.MAX_RUNS,
                      now: datetime | None = None) -> Explained:
    """`now`: the clock the caller shows (the app's, which snapshot tests pin); by default
    the server's."""
    tz = zone_of(facts)
    # The scheduler's facts and the newest page of runs in one round trip.
    sched_rows, first = map(reads.rows_of, await reads.read_together(db, [
        reads.scheduler_read(), reads.runs_page_read(jobid=job.jobid)]))
    sched = reads.scheduler_from(sched_rows)
    now = now or sched.now
    start = since or now - timedelta(days=days)
    until = now - settle
    version = facts.pg_cron_grammar or "1.6"
    slots = scheduled_times(job.schedule, start, until, tz, version)
    note = None
    if not slots:
        parsed = parse(job.schedule, version)
        kind = parsed.kind if parsed is not None else None
        note = {"seconds": "an interval schedule ('N seconds') has no times to explain",
                "reboot": "this job runs at server start only",
                None: "the schedule is invalid for this pg_cron"}.get(
                    kind, "the schedule gives no time in this window")
    rows, stopped = await reads.runs_since(db, start, jobid=job.jobid, max_runs=max_runs,
                                           first=first)
    runs = run_rows(rows)
    paused, created = pauses_from_audit(audit_entries or [], job.label, audit_server(facts))
    ev = Evidence(now=now, launcher_start=sched.launcher_start,
                  launcher_known=sched.launcher_known, postmaster_start=sched.postmaster_start,
                  in_recovery=sched.in_recovery, max_running_jobs=sched.max_running_jobs,
                  oldest_start=sched.oldest_start, read_back_to=stopped,
                  sees_all=facts.sees_all, paused=paused, created_at=created,
                  job_active=job.active)
    outcomes = explain(slots, [r for r in runs if r.jobid == job.jobid], runs, ev)
    return Explained(job, start, until, tz, await _judged(db, job, outcomes, runs, now), note)


async def _judged(db: Database, job: Job, outcomes: list[Outcome], runs: list[RunRow],
                  now: datetime) -> list[Outcome]:
    """Runs still going, judged by the one rule (tui/rules.py): stuck or orphaned."""
    going = {o.runid for o in outcomes if o.outcome == "running" and o.runid is not None}
    if not going:
        return outcomes
    verdicts = await liveness.orphaned(db, going)
    usual = (await reads.usual_durations(db)).get(job.jobid)
    starts = {r.runid: r for r in runs if r.runid in going}
    out = []
    for o in outcomes:
        run = starts.get(o.runid) if o.runid is not None else None
        if run is not None:
            orphaned = verdicts.get(run.runid)
            said = ("orphaned" if orphaned else "stuck"
                    if rules.is_stuck(run.status, run.start_time, now, usual, orphaned) else None)
            if said:
                why = ("its backend is gone: it will never finish" if said == "orphaned" else
                       f"over {rules.stuck_after_s(usual):.0f} s, longer than it usually takes")
                o = replace(o, problem=said, reason=f"{o.reason}; {said}: {why}")
        out.append(o)
    return out


def parse_since(text: str | None) -> datetime | None:
    if text is None:
        return None
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise DatabaseError(f"--since {text!r} needs a zone offset (e.g. {text}+00:00): the "
                            "scheduler's clock is not this machine's")
    return value
