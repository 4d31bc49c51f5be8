"""What a watch keeps of one database between passes, in memory, so a steady pass reads only
what changed (tui/db/watch_reads.py): the facts and jobs read once, each job's usual sample
and the runs of the last hour or so (for missed times), kept up to date from the new runs.

Kept apart from the state file: a restarted watch reads everything once again.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any

from tui import rules
from tui.cron import next_runs
from tui.db.insight import QUEUE_SLACK
from tui.db.watch_reads import Full, Markers
from tui.insight.explain import RunRow, scheduled_times
from tui.models import Job, Run, ServerFacts

#: The facts are read again at least this often (a change no marker shows: a grant on
#: pg_net's table, the (jobid, runid) index built), with the unfinished runs. The jobs and the
#: usual sample, kept exact from the runs read, only when a marker says so.
FULL_EVERY_S = 900.0
#: Runs are kept from this long before the window the next pass judges (the look-back that
#: a fresh read of the runs gives, QUEUE_SLACK, and a margin).
KEEP_BEFORE = QUEUE_SLACK + timedelta(minutes=10)
#: Runs the app starts keep no schedule: not part of the usual (as insight_recent_runs).
MANUAL = "manual run by "


def run_row(run: Run) -> RunRow:
    """A run as insight_runs_page gives it (the message of failed runs only)."""
    message = (run.return_message or "")[:500] if run.status == "failed" else None
    return RunRow(run.runid, run.jobid, run.status, run.start_time, run.end_time, message)


@dataclass
class Memory:
    full_at: float | None = None  # time.monotonic() of the last full read; None: never
    #: Unfinished runs the last full read found, for the next pass to read with its own.
    pending: set[int] = field(default_factory=set)
    _everything: bool = True
    facts: ServerFacts | None = None
    facts_key: tuple[Any, ...] | None = None
    fingerprint: str | None = None
    jobs: dict[int, Job] = field(default_factory=dict)
    max_running_jobs: int | None = None
    http_readable: bool = False
    #: jobid: its newest finished runs (rows as insight_recent_runs gives), newest last.
    usual: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    _usual_order: deque[tuple[int, int]] = field(default_factory=deque)  # (runid, jobid)
    #: jobid: its Usual, worked out from `usual` when first asked after its sample changed
    #: (a pass asks for the jobs with unfinished runs: the same few, pass after pass).
    _usuals: dict[int, rules.Usual | None] = field(default_factory=dict)
    #: runid: the run, for missed times; None until read in full (runs_since).
    window: dict[int, RunRow] | None = None
    #: jobid: (schedule, zone, grammar), a time, and the first fire time after it (None:
    #: never): most jobs have no time in a pass's window, and need no more work to know it.
    _next: dict[int, tuple[tuple[str, str, str], datetime, datetime | None]] = field(
        default_factory=dict)

    def due(self, now: float | None = None) -> bool:
        """A full read is due: never done, or too long ago."""
        return self.full_at is None or (now or time.monotonic()) - self.full_at >= FULL_EVERY_S

    def forget(self) -> None:
        """After an error (or runs skipped): everything is read again at the next pass."""
        self.full_at = self.window = None
        self._everything = True

    @property
    def everything(self) -> bool:
        """The next full read must read the jobs and the usual sample too."""
        return self._everything or self.facts is None

    def take_full(self, full: Full) -> None:
        self.full_at = time.monotonic()
        self.facts, self.facts_key = full.facts, full.markers.facts_key()
        self.max_running_jobs, self.http_readable = full.max_running_jobs, full.http_readable
        self.pending = set(full.unfinished)
        if full.jobs is not None:
            self._everything = False
            self.fingerprint = full.markers.jobs_fingerprint
            self.jobs = {j.jobid: j for j in full.jobs}
        if full.usual_rows is not None:
            self.usual, self._usual_order, self._usuals = {}, deque(), {}
            for row in sorted(full.usual_rows, key=lambda r: r["runid"]):
                self._add_usual(row)

    def facts_now(self, m: Markers) -> ServerFacts:
        """The facts read once, with what changes by the minute from this pass's markers."""
        assert self.facts is not None
        return replace(self.facts, now=m.now, scheduler_alive=m.scheduler_alive,
                       in_recovery=m.in_recovery)

    # -- the new runs of a pass -----------------------------------------------------------
    def take_runs(self, runs: list[Run], newest: int) -> None:
        """Each job's last run, the usual sample and the window, from the runs read (new ones
        and those read again); `newest`: the newest runid seen."""
        for run in runs:
            job = self.jobs.get(run.jobid)
            if job is not None and run.runid >= (job.last_runid or 0):
                self.jobs[run.jobid] = replace(
                    job, last_runid=run.runid, last_status=run.status,
                    last_start=run.start_time, last_end=run.end_time,
                    last_message=run.return_message, last_orphaned=None)
            if (run.finished and run.start_time is not None
                    and run.end_time is not None
                    and not (run.return_message or "").startswith(MANUAL)):
                self._add_usual({"runid": run.runid, "jobid": run.jobid, "status": run.status,
                                 "start_time": run.start_time, "end_time": run.end_time})
            if self.window is not None:
                self.window[run.runid] = run_row(run)
        cutoff = newest - rules.USUAL_LOOKBACK
        while self._usual_order and self._usual_order[0][0] <= cutoff:
            runid, jobid = self._usual_order.popleft()
            rows = self.usual.get(jobid, [])
            self.usual[jobid] = [r for r in rows if r["runid"] != runid]
            self._usuals.pop(jobid, None)

    def _add_usual(self, row: dict[str, Any]) -> None:
        rows = self.usual.setdefault(row["jobid"], [])
        if any(r["runid"] == row["runid"] for r in rows):
            return
        rows.append(row)
        rows.sort(key=lambda r: r["runid"])
        del rows[:-rules.USUAL_PER_JOB]
        self._usual_order.append((row["runid"], row["jobid"]))
        self._usuals.pop(row["jobid"], None)

    def usuals(self, jobids: set[int]) -> dict[int, rules.Usual]:
        """The usual of these jobs (tui/rules.py's one sample)."""
        for j in jobids - self._usuals.keys():
            self._usuals[j] = rules.usuals_from_rows(self.usual.get(j, [])).get(j)
        return {j: u for j in jobids if (u := self._usuals[j]) is not None}

    def slots(self, job: Job, since: datetime, until: datetime, tz: str, version: str
              ) -> list[datetime]:
        """explain.scheduled_times(job's schedule, since, until): the times in (since, until]
        its schedule gives; no work beyond a look-up while its next time lies after `until`."""
        key = (job.schedule, tz, version)
        hit = self._next.get(job.jobid)
        if hit is None or hit[0] != key or hit[1] > since or (
                hit[2] is not None and hit[2] <= since):
            first = scheduled_times(job.schedule, since, NEVER, tz, version, engine=_capped(1))
            hit = self._next[job.jobid] = (key, since, first[0] if first else None)
        if hit[2] is None or hit[2] > until:
            return []
        # A cron schedule gives at most one time a minute (and the hour a clock change
        # repeats): asking the engine for no more keeps each call short.
        minutes = int((until - since).total_seconds() // 60) + 62
        return scheduled_times(job.schedule, since, until, tz, version,
                               engine=_capped(minutes))

    def keep_window(self, rows: list[RunRow]) -> None:
        self.window = {r.runid: r for r in rows}

    def prune_window(self, judged_until: datetime, open_runs: set[int]) -> None:
        """Runs that started long before the next window are of no use to it."""
        if self.window is None:
            return
        horizon = judged_until - KEEP_BEFORE
        self.window = {k: r for k, r in self.window.items()
                       if (r.start_time is not None and r.start_time >= horizon)
                       or (r.start_time is None and k in open_runs)}


#: Far enough: "the first time after" looks no further (a schedule that never fires).
NEVER = datetime(9999, 1, 1, tzinfo=timezone.utc)


def _capped(most: int) -> Callable[..., list[datetime]]:
    def engine(expr: str, after: datetime, tz: str, count: int, *, version: str
               ) -> list[datetime]:
        return next_runs(expr, after, tz, min(count, most), version=version)

    return engine
