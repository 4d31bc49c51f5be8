"""Start lag and duration: per run, each job's usual (median, p95), and runs far outside it.

A run's lag is its start minus the time its schedule gave: the newest scheduled time at or
before the start (as tui/cron reads the schedule, in the scheduler's zone). Interval
('N seconds') and @reboot jobs have no scheduled minute, so no lag.

Each job's usual (the sample and its statistics) and the flag of a run far outside it are
tui/rules.py's; this module works out the lags they need (schedules: tui/cron).
"""

from __future__ import annotations

import asyncio
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from tui import format as fmt
from tui import rules
from tui.cron import next_runs, parse
from tui.insight.explain import EARLY, MAX_SLOTS
from tui.models import Job
from tui.rules import Usual, percentile

__all__ = ["Usual", "Usuals", "build", "job_lags", "lag_of", "percentile", "read",
           "scheduled_for"]

#: The usual sample (tui/rules.py): each job's newest finished runs among this many
#: newest runids, at most PER_JOB a job.
LOOKBACK = rules.USUAL_LOOKBACK
PER_JOB = rules.USUAL_PER_JOB
#: Read again this often (seconds), not at every refresh.
REFRESH_S = 60.0
#: The first read waits this long after the first screen (seconds).
FIRST_AFTER_S = 2.0
#: The flag rule is tui/rules.py's outlier() (README and help say it in these words).
MIN_OTHER = rules.OUTLIER_MIN_OTHER
FACTOR = rules.OUTLIER_FACTOR
DURATION_FLOOR_S = rules.DURATION_FLOOR_S
LAG_FLOOR_S = rules.LAG_FLOOR_S
#: A run queued longer than this behind its time is not matched to it (lag unknown).
QUEUED_AT_MOST = timedelta(hours=1)
MARK = "▲"
#: How tui/db/actions words a run started from the app ("t"): at no scheduled time, so no lag.
MANUAL = "manual run by "


def is_manual(message: str | None) -> bool:
    return (message or "").startswith(MANUAL)


def scheduled_for(expr: str, start: datetime, tz: str, version: str) -> datetime | None:
    """The time the schedule gave for a run that started at `start` (UTC), or None."""
    schedule = parse(expr, version)
    if schedule is None or schedule.kind != "cron":
        return None
    minute = _on_minute(expr, start, tz, version)
    if minute is not None:
        return minute
    slots = _times(expr, start - QUEUED_AT_MOST, start + EARLY, tz, version)
    return slots[-1] if slots else None


def lag_of(expr: str, start: datetime | None, tz: str | None, version: str) -> float | None:
    if start is None or tz is None:
        return None
    slot = scheduled_for(expr, start, tz, version)
    if slot is None:
        return None
    return round(max((start - slot).total_seconds(), 0.0), 3)


class Usuals:
    """Every job's Usual, and the judgement of a run against it."""

    def __init__(self, by_job: dict[int, Usual], jobs: Sequence[Job], tz: str | None,
                 version: str):
        self.by_job = by_job
        self.schedules = {j.jobid: j.schedule for j in jobs}
        self.tz, self.version = tz, version
        # Judged again at every refresh (jobs' last runs, redrawn rows): once is enough.
        self._memo: dict[tuple[Any, ...], str | None] = {}

    def lags_of(self, jobid: int, expr: str, tz: str | None, version: str
                ) -> dict[int, float | None]:
        """The lags worked out for this job's runs (runid -> lag), while they still hold:
        same schedule, zone and grammar."""
        usual = self.by_job.get(jobid)
        if usual is None or (self.schedules.get(jobid), self.tz, self.version) != (
                expr, tz, version):
            return {}
        return {runid: lag for runid, (_, lag) in usual.runs.items()}

    def lag(self, jobid: int, start: datetime | None, runid: int | None = None
            ) -> float | None:
        usual = self.by_job.get(jobid)
        if usual is not None and runid in usual.runs:
            return usual.runs[runid][1]
        expr = self.schedules.get(jobid)
        return None if expr is None else lag_of(expr, start, self.tz, self.version)

    def flag(self, jobid: int, runid: int | None, start: datetime | None,
             end: datetime | None, message: str | None = None) -> str | None:
        """'▲ (usual 2.00 s)' for a run far outside its job's usual duration, '▲ late 5 min
        (usual 0.10 s)' for its start lag; None when the run is usual or cannot be judged."""
        usual = self.by_job.get(jobid)
        if usual is None or start is None:
            return None
        manual = is_manual(message)
        key = (jobid, runid, start, end, manual)
        if key not in self._memo:
            self._memo[key] = self._flag(usual, jobid, runid, start, end, manual)
        return self._memo[key]

    def _flag(self, usual: Usual, jobid: int, runid: int | None, start: datetime,
              end: datetime | None, manual: bool) -> str | None:
        notes = []
        if end is not None:
            median = rules.outlier(usual, rules.DURATION, (end - start).total_seconds(), runid)
            if median is not None:
                notes.append(f"{MARK} (usual {fmt.duration(median)})")
        late = None if manual else self.lag(jobid, start, runid)
        usual_lag = rules.outlier(usual, rules.LAG, late, runid)
        if usual_lag is not None:
            notes.append(f"{MARK} late {fmt.duration(late)} (usual {fmt.duration(usual_lag)})")
        return " ".join(notes) or None


def _times(expr: str, lo: datetime, hi: datetime, tz: str, version: str) -> list[datetime]:
    """The schedule's times in (lo, hi], in UTC. Asked for in small, growing batches: a daily
    job's window of an hour holds one time at most, and asking for hundreds would walk
    hundreds of days."""
    out: list[datetime] = []
    after, batch = lo, 4
    while len(out) < MAX_SLOTS:
        got = next_runs(expr, after, tz, batch, version=version)
        for t in got:
            t = t.astimezone(timezone.utc)
            if t > hi:
                return out
            out.append(t)
        if len(got) < batch:
            return out
        after, batch = got[-1], min(batch * 4, 1024)
    return out


def _on_minute(expr: str, start: datetime, tz: str, version: str) -> datetime | None:
    """The start's minute when the schedule gives it (most runs): one next-run step."""
    minute = (start + EARLY).replace(second=0, microsecond=0)
    first = next_runs(expr, minute - timedelta(microseconds=1), tz, 1, version=version)
    return minute if first and first[0].astimezone(timezone.utc) == minute else None


def job_lags(expr: str, starts: Sequence[datetime], tz: str | None,
             version: str) -> list[float | None]:
    """lag_of for many runs of one job: the runs that did not start in a scheduled minute
    share one list of the job's times (bisected), so a history of odd start times costs one
    walk of the schedule, not one a run."""
    schedule = parse(expr, version)
    if tz is None or schedule is None or schedule.kind != "cron":
        return [None] * len(starts)
    slots: list[datetime | None] = [_on_minute(expr, t, tz, version) for t in starts]
    odd = [t for t, slot in zip(starts, slots) if slot is None]
    if odd:
        times = _times(expr, min(odd) - QUEUED_AT_MOST, max(odd) + EARLY, tz, version)
        for i, (t, slot) in enumerate(zip(starts, slots)):
            if slot is None:
                k = bisect_right(times, t + EARLY)
                if k and t - times[k - 1] <= QUEUED_AT_MOST:
                    slots[i] = times[k - 1]
    return [None if slot is None else round(max((t - slot).total_seconds(), 0.0), 3)
            for t, slot in zip(starts, slots)]


def build(rows: Sequence[dict[str, Any]], jobs: Sequence[Job], tz: str | None,
          version: str, previous: Usuals | None = None) -> Usuals:
    """From insight_recent_runs rows: every job's usual duration and lag. A run's lag is
    taken from `previous` (the read a minute before) when it was worked out there: read once
    a minute, 10,000 runs hold about a minute's worth of new ones."""
    schedules = {j.jobid: j.schedule for j in jobs}
    rows_of: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        rows_of[r["jobid"]].append(r)
    by_job: dict[int, Usual] = {}
    for jobid, mine in rows_of.items():
        expr = schedules.get(jobid)
        lags: dict[int, float | None] = {}
        if expr is not None and previous is not None:
            lags = previous.lags_of(jobid, expr, tz, version)
        todo = [r for r in mine if r["runid"] not in lags]
        if expr is not None:
            found = job_lags(expr, [r["start_time"] for r in todo], tz, version)
        else:
            found = [None] * len(todo)
        lags.update(zip([r["runid"] for r in todo], found))
        by_job[jobid] = Usual({r["runid"]: ((r["end_time"] - r["start_time"]).total_seconds(),
                                            lags[r["runid"]]) for r in mine})
    return Usuals(by_job, jobs, tz, version)


async def read(db: Any, jobs: Sequence[Job], tz: str | None, version: str,
               previous: Usuals | None = None) -> Usuals:
    from tui.db import insight as reads

    rows = await reads.recent_finished(db, LOOKBACK, PER_JOB)
    # Thousands of schedule look-ups: off the event loop, the screen keeps drawing.
    return await asyncio.to_thread(build, rows, jobs, tz, version, previous)


RULE = (f"{MARK} in the Took column (run stream; jobs table: the last run) marks a run far "
        f"outside its job's usual: the job has at least {MIN_OTHER} other recent runs and the "
        f"run took more than {FACTOR:g}x their p95 duration and more than "
        f"{DURATION_FLOOR_S:g} s, or started more than {FACTOR:g}x their p95 start lag and "
        f"more than {LAG_FLOOR_S:g} s after its scheduled time.")
