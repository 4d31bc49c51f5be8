"""Next runs of jobs, in the scheduler's own time zone and by the server's clock."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Mapping
from datetime import datetime

from tui.cron import NextRunCache, can_fire, check, parse, zone_problem
from tui.models import Job, ServerFacts, changed_jobs


def next_run(job: Job, facts: ServerFacts, cache: NextRunCache) -> datetime | None:
    """When pg_cron will next start this job; None when paused, at server start only, never,
    or when the scheduler's time zone is unknown: unreadable by this role or unknown to this
    machine (never guessed, and no reason to fail the refresh: see zone_note)."""
    tz = facts.scheduler_timezone
    if not job.active or tz is None or zone_problem(tz) is not None:
        return None
    return cache.next_run(job.jobid, job.schedule, facts.now, tz,
                          version=facts.pg_cron_grammar or "1.6", last_start=job.last_start)


def no_next_run(job: Job, facts: ServerFacts) -> str:
    """A word for an active job that has no next run: why."""
    tz = facts.scheduler_timezone
    if tz is None or zone_problem(tz) is not None:
        return "unknown"
    schedule = parse(job.schedule, facts.pg_cron_grammar or "1.6")
    if schedule is None:
        return "invalid"
    if schedule.kind == "reboot":
        return "at server start"
    if schedule.kind == "cron" and not can_fire(schedule):
        return "never"
    return "unknown"


def zone_note(facts: ServerFacts) -> str:
    """The scheduler's zone as a title or header names it, or why it is unknown."""
    tz = facts.scheduler_timezone
    if tz is None:
        return "an unknown zone (not readable by this role)"
    problem = zone_problem(tz)
    return tz if problem is None else f"an {problem}"


class NextRuns(Mapping[int, "datetime | None"]):
    """The shown jobs' next runs, computed when first asked for and kept across refreshes.

    The first screen at ten thousand jobs cannot wait for ten thousand next runs: update()
    only notes the jobs and the server's clock, and a job's next run is computed when its row
    is drawn, or for every job when a sort by next run asks for all. The answer is the one a
    fresh computation at the latest refresh gives: a next run computed at an earlier refresh
    still stands until it passes (a heap says when), and nothing fires between a refresh and
    the next run computed at it.

    A refresh hands back the same list when no job changed, and the same Job object for each
    job that did not (JobsTracker); so a kept answer is dropped only when its job's object is
    new or its next run has passed. `version` moves whenever an answer may have changed, so the
    table can tell without comparing. fill() computes the others a slice at a time between
    key presses, so that a sort by next run finds them ready. As a mapping it reads
    jobid -> next run over the jobs of the latest update (reading every entry computes all).
    """

    def __init__(self) -> None:
        self.cache = NextRunCache()
        self.version = 0
        self._at: dict[int, datetime | None] = {}  # jobid: next run, for the jobs computed
        self._from: dict[int, Job] = {}  # jobid: the Job object `_at` was computed from
        self._due: list[tuple[datetime, int]] = []  # (next run, jobid), soonest first
        self._jobs: list[Job] = []  # the list of the latest update
        self._by_id: dict[int, Job] = {}
        self._facts: ServerFacts | None = None
        self._for: tuple[str | None, str | None] | None = None
        self._filled = 0  # fill(): the jobs before this index in `_jobs` were looked at
        self._stale: list[Job] = []  # fill(): jobs whose answer passed, or who changed, since

    def update(self, jobs: list[Job], facts: ServerFacts) -> NextRuns:
        inputs = (facts.scheduler_timezone, facts.pg_cron_version)
        changed = False
        if inputs != self._for:  # every answer may change: start over
            self._at.clear()
            self._from.clear()
            self._due.clear()
            self._for = inputs
            self._filled, changed = 0, True
        self._facts = facts
        if jobs is not self._jobs:
            # A new list means a job changed, came or went; the answers of the others stand.
            replaced = changed_jobs(self._jobs, jobs)
            self._jobs, changed = jobs, True
            if replaced is None:
                self._filled = 0
                self._by_id = by_id = {job.jobid: job for job in jobs}
                gone = [j for j, job in self._from.items() if by_id.get(j) is not job]
            else:  # the usual refresh: a few jobs ran; fill() computes theirs again
                for job in replaced:
                    self._by_id[job.jobid] = job
                gone = [job.jobid for job in replaced if job.jobid in self._from]
                self._stale += replaced
            for jobid in gone:
                del self._at[jobid]
                del self._from[jobid]
                if jobid not in self._by_id:
                    self.cache.forget(jobid)
        while self._due and self._due[0][0] <= facts.now:
            when, jobid = heapq.heappop(self._due)
            if jobid in self._at and self._at[jobid] == when:  # else a stale entry
                del self._at[jobid]
                self._stale.append(self._from.pop(jobid))
                changed = True
        if changed:
            self.version += 1
        return self

    def of(self, job: Job) -> datetime | None:
        """The job's next run as of the latest update, computed now if not yet known."""
        jobid = job.jobid
        if self._from.get(jobid) is job:
            return self._at[jobid]
        assert self._facts is not None, "update() first"
        when = next_run(job, self._facts, self.cache)
        if self._from.get(jobid) is not None and self._at[jobid] == when:
            self._from[jobid] = job  # its heap entry, if any, still stands
            return when
        self._at[jobid], self._from[jobid] = when, job
        if when is not None:
            heapq.heappush(self._due, (when, jobid))
        return when

    def fill(self, count: int) -> bool:
        """Compute up to `count` answers not yet asked for (between key presses, so that a
        sort by next run finds them ready); True while some are left."""
        if self._facts is None:
            return False
        while self._stale and count > 0:
            job = self._stale.pop()
            if self._by_id.get(job.jobid) is job:  # else gone or changed: the scan finds it
                self.of(job)
                count -= 1
        jobs, at = self._jobs, self._filled
        while at < len(jobs) and count > 0:
            if self._from.get(jobs[at].jobid) is not jobs[at]:
                self.of(jobs[at])
                count -= 1
            at += 1
        self._filled = at
        return bool(self._stale) or at < len(jobs)

    def __getitem__(self, jobid: int) -> datetime | None:
        return self.of(self._by_id[jobid])

    def __iter__(self) -> Iterator[int]:
        return iter(self._by_id)

    def __len__(self) -> int:
        return len(self._by_id)


def schedule_warnings(job: Job, facts: ServerFacts) -> list[str]:
    """What an operator should know about a job's schedule on this server (e.g. @yearly on
    pg_cron 1.6 never fires), and why its next run is unknown when the zone is."""
    warnings = list(check(job.schedule, facts.pg_cron_grammar or "1.6").warnings)
    tz = facts.scheduler_timezone
    if tz is not None and (problem := zone_problem(tz)) is not None:
        warnings.append(f"No next run: cron.timezone is an {problem}.")
    return warnings
