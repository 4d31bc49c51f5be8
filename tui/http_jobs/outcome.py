"""What an HTTP job's endpoint answered, next to pg_cron's status for the run.

pg_cron's `succeeded` for `select net.http_post(...)` only says the request was queued: its
message is "1 row", the request id the SELECT returned is not kept. pg_net's request queue has
no time and is emptied as requests are sent; its answers (`net._http_response`) carry the id
and `created`, the time the worker stored them. So an answer is matched to a run by time only:
it must be stored after the run started and before the run's end plus the request's timeout
(and some slack for pg_net's worker). A run gets an answer only when exactly one answer lies
in its window and that answer lies in no other HTTP run's window; otherwise it says why not.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tui.db.client import Database
from tui.db.insight import RunsSince, runs_since
from tui.models import Job, Run

#: Time pg_net's worker may take, beyond the request's own timeout, to store an answer.
SLACK = timedelta(seconds=5)
#: At most this many answers are read per database.
MAX_ANSWERS = 2000


@dataclass(frozen=True)
class HttpOutcome:
    status: int | None  # the endpoint's HTTP status, when matched and answered
    error: str | None  # pg_net's error message (masked, inert), e.g. its timeout sentence
    note: str  # why nothing is shown, or "" when matched
    timed_out: bool = False

    @property
    def matched(self) -> bool:
        return not self.note

    @property
    def is_error(self) -> bool:
        return self.matched and (self.error is not None
                                 or (self.status is not None and self.status >= 400))

    def short(self) -> str:
        """For a status column: `HTTP 500`, `timed out`, `error`, or `?` when unmatched."""
        if not self.matched:
            return "HTTP ?"
        if self.status is not None:
            return f"HTTP {self.status}"
        return "timed out" if self.timed_out else "HTTP error"


def last_run(job: Job) -> Run | None:
    """The job's last run as the jobs list knows it (enough to match an answer to it)."""
    if job.last_runid is None or job.last_start is None or job.last_end is None:
        return None
    return Run(runid=job.last_runid, jobid=job.jobid, jobname=job.jobname,
               database=job.database, username=job.username, status=job.last_status,
               return_message=None, start_time=job.last_start, end_time=job.last_end)


def _timeout(job: Job) -> timedelta:
    from tui.http_jobs import DEFAULT_TIMEOUT_MS, parse_call

    call = parse_call(job.command)
    ms = (call.timeout_ms if call else None) or DEFAULT_TIMEOUT_MS
    return timedelta(milliseconds=ms)


def _window(start: datetime | None, end: datetime | None,
            timeout: timedelta) -> tuple[datetime, datetime] | None:
    if start is None or end is None:
        return None
    return start, end + timeout + SLACK


def match(runs: Sequence[Run], jobs: dict[int, Job], answers: Sequence[Any],
          others: Sequence[dict[str, Any]], now: datetime, *, complete_after: datetime | None
          ) -> dict[int, HttpOutcome]:
    """Outcomes for the finished HTTP runs among `runs`. `answers` are pg_net's answers (id,
    status_code, timed_out, error, created) in the jobs' database; `others` every run (runid,
    jobid, start_time, end_time) of that period, whose HTTP runs compete for the answers;
    `complete_after`: answers stored before it may be missing from `answers` (a bound hit)."""
    http_runs: dict[int, tuple[datetime, datetime]] = {}
    for r in [*others, *({"runid": r.runid, "jobid": r.jobid, "start_time": r.start_time,
                          "end_time": r.end_time, "status": r.status} for r in runs)]:
        job = jobs.get(r["jobid"])
        if job is None or r.get("status") != "succeeded":
            continue
        w = _window(r["start_time"], r["end_time"], _timeout(job))
        if w:
            http_runs[r["runid"]] = w
    out: dict[int, HttpOutcome] = {}
    for run in runs:
        if run.jobid not in jobs or run.status != "succeeded" or run.runid not in http_runs:
            continue
        lo, hi = http_runs[run.runid]
        if complete_after is not None and lo < complete_after:
            out[run.runid] = HttpOutcome(None, None, "too many pg_net answers to look this far "
                                                     "back")
            continue
        inside = [a for a in answers if lo <= a.created <= hi]
        if not inside:
            note = ("waiting for pg_net's answer" if now <= hi else
                    "no pg_net answer found (deleted after pg_net.ttl, or never stored)")
            out[run.runid] = HttpOutcome(None, None, note)
            continue
        if len(inside) > 1:
            out[run.runid] = HttpOutcome(None, None, f"{len(inside)} pg_net answers in this run's "
                                                     "time window: cannot tell which is its own")
            continue
        (answer,) = inside
        shared = [rid for rid, (a, b) in http_runs.items()
                  if rid != run.runid and a <= answer.created <= b]
        if shared:
            out[run.runid] = HttpOutcome(None, None, "its pg_net answer could also be another "
                                                     "run's: cannot tell")
            continue
        error = answer.error or ("timed out" if answer.timed_out else None)
        out[run.runid] = HttpOutcome(answer.status_code, error, "", bool(answer.timed_out))
    return out


async def http_outcomes(db: Database, runs: Sequence[Run], jobs: Sequence[Job], *,
                        current_database: str | None, now: datetime,
                        window: RunsSince | None = None) -> dict[int, HttpOutcome]:
    """pg_net's answers matched to the finished runs of HTTP jobs among `runs` (keyed by
    runid; runs of other jobs have none). Reads pg_net once per database the HTTP jobs use,
    and every run since the oldest one (other HTTP jobs compete for the same answers):
    through `window`, kept from one call to the next, only the runs new since the last."""
    from tui.http_jobs import is_http_job, job_pg_net_state

    http_jobs = {j.jobid: j for j in jobs if is_http_job(j.command)}
    mine = [r for r in runs if r.jobid in http_jobs and r.start_time is not None]
    if not mine:
        return {}
    since = min(r.start_time for r in mine if r.start_time is not None)
    others = await window.read(db, since) if window else (await runs_since(db, since))[0]
    out: dict[int, HttpOutcome] = {}
    by_database: dict[str, list[Job]] = {}
    for job in http_jobs.values():
        by_database.setdefault(job.database, []).append(job)
    for members in by_database.values():
        ids = {j.jobid for j in members}
        theirs = [r for r in mine if r.jobid in ids]
        if not theirs:
            continue
        state = await job_pg_net_state(db, members[0], current_database=current_database,
                                       since=since, limit=MAX_ANSWERS)
        if not state.installed or state.note.startswith("this role"):
            for r in theirs:
                if r.status == "succeeded":
                    out[r.runid] = HttpOutcome(None, None, state.note or "pg_net is not here")
            continue
        complete_after = (min(a.created for a in state.responses)
                          if len(state.responses) >= MAX_ANSWERS else None)
        out |= match(theirs, {j: http_jobs[j] for j in ids}, state.responses,
                     [o for o in others if o["jobid"] in ids], now,
                     complete_after=complete_after)
    return out
