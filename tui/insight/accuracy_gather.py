"""The accuracy check from a live server: the reads (through tui.db) fed to the pure matcher
(tui/insight/accuracy.py). Shared by the doctor, the detail view and the header."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from tui.cron import next_runs
from tui.db import Database
from tui.db import insight as reads
from tui.insight.accuracy import Accuracy, AccuracyJob, Engine, changes_from_audit, judge
from tui.insight.explain import Evidence, pauses_from_audit
from tui.insight.gather import SETTLE, audit_server, run_rows, zone_of
from tui.models import Job, ServerFacts

#: The history judged by default: a week, as `explain`.
DAYS = 7.0


def accuracy_jobs(jobs: list[Job], audit_entries: list[dict[str, Any]],
                  server: str | None) -> list[AccuracyJob]:
    out = []
    for job in jobs:
        paused, created = pauses_from_audit(audit_entries, job.label, server)
        out.append(AccuracyJob(job.jobid, job.label, job.schedule, job.active,
                               changes_from_audit(audit_entries, job.label, server),
                               paused, created))
    return out


async def accuracy(db: Database, facts: ServerFacts, jobs: list[Job],
                   audit_entries: list[dict[str, Any]] | None = None, *, days: float = DAYS,
                   since: datetime | None = None, settle: timedelta = SETTLE,
                   engine: Engine = next_runs, max_runs: int = reads.MAX_RUNS,
                   now: datetime | None = None) -> Accuracy:
    """`jobs`: the ones to judge (all the role sees, or one); every job's runs are read, for
    the slots they held. `now`: the clock the caller shows (the app's, which snapshot tests
    pin); by default the server's. Raises DatabaseError when the zone or the history cannot
    be read."""
    tz = zone_of(facts)
    # The scheduler's facts and the newest page of runs in one round trip.
    page = "accuracy_runs_page"
    sched_rows, first = map(reads.rows_of, await reads.read_together(db, [
        reads.scheduler_read(), reads.runs_page_read(query=page)]))
    sched = reads.scheduler_from(sched_rows)
    now = now or sched.now
    start = since or now - timedelta(days=days)
    rows, stopped = await reads.runs_since(db, start, max_runs=max_runs, query=page,
                                           first=first)
    runs = run_rows(rows)
    manual = [r["runid"] for r in rows if r["manual"]]
    ev = Evidence(now=now, launcher_start=sched.launcher_start,
                  launcher_known=sched.launcher_known, postmaster_start=sched.postmaster_start,
                  in_recovery=sched.in_recovery, max_running_jobs=sched.max_running_jobs,
                  oldest_start=sched.oldest_start, read_back_to=stopped,
                  sees_all=facts.sees_all)
    server = audit_server(facts)
    # Thousands of fire times matched: off the event loop, the screen keeps drawing.
    return await asyncio.to_thread(judge, accuracy_jobs(jobs, audit_entries or [], server),
                                   runs, manual, ev, start, now - settle, tz,
                                   facts.pg_cron_grammar or "1.6", engine=engine)
