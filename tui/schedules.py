"""Next runs of jobs, in the scheduler's own time zone and by the server's clock."""

from __future__ import annotations

import heapq
from datetime import datetime

from tui.cron import NextRunCache, can_fire, check, parse, zone_problem
from tui.models import Job, ServerFacts


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


class NextRuns:
    """Every shown job's next run, kept from one refresh to the next.

    A refresh hands back the same list when no job changed, and the same Job object for each
    job that did not (JobsTracker); so a job is looked at again only when its object is new or
    its next run has passed (a heap says which), never all ten thousand at every refresh.
    `version` moves whenever a next run changes, so the table can tell without comparing.
    """

    def __init__(self) -> None:
        self.cache = NextRunCache()
        self.at: dict[int, datetime | None] = {}  # jobid: next run
        self.version = 0
        self._from: dict[int, Job] = {}  # jobid: the Job object `at` was computed from
        self._due: list[tuple[datetime, int]] = []  # (next run, jobid), soonest first
        self._jobs: list[Job] | None = None  # the list last looked through
        self._for: tuple[str | None, str | None] | None = None

    def update(self, jobs: list[Job], facts: ServerFacts) -> dict[int, datetime | None]:
        inputs = (facts.scheduler_timezone, facts.pg_cron_version)
        if inputs != self._for:  # every answer may change: start over
            self.at.clear()
            self._from.clear()
            self._due.clear()
            self._jobs, self._for = None, inputs
        changed = False
        if jobs is not self._jobs:
            self._jobs = jobs
            for job in jobs:
                if self._from.get(job.jobid) is not job:
                    changed |= self._compute(job, facts)
            if len(self.at) != len(jobs):  # jobs went away (entries are only added above)
                present = {job.jobid for job in jobs}
                for jobid in [j for j in self.at if j not in present]:
                    del self.at[jobid]
                    del self._from[jobid]
                    self.cache.forget(jobid)
                changed = True
        while self._due and self._due[0][0] <= facts.now:
            when, jobid = heapq.heappop(self._due)
            job = self._from.get(jobid)
            if job is not None and self.at.get(jobid) == when:  # else a stale entry
                changed |= self._compute(job, facts)
        if changed:
            self.version += 1
        return self.at

    def _compute(self, job: Job, facts: ServerFacts) -> bool:
        """True when the job's next run changed."""
        when = next_run(job, facts, self.cache)
        self._from[job.jobid] = job
        if job.jobid in self.at and self.at[job.jobid] == when:
            return False  # its heap entry, if any, still stands
        self.at[job.jobid] = when
        if when is not None:
            heapq.heappush(self._due, (when, job.jobid))
        return True


def schedule_warnings(job: Job, facts: ServerFacts) -> list[str]:
    """What an operator should know about a job's schedule on this server (e.g. @yearly on
    pg_cron 1.6 never fires), and why its next run is unknown when the zone is."""
    warnings = list(check(job.schedule, facts.pg_cron_grammar or "1.6").warnings)
    tz = facts.scheduler_timezone
    if tz is not None and (problem := zone_problem(tz)) is not None:
        warnings.append(f"No next run: cron.timezone is an {problem}.")
    return warnings
