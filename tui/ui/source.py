"""One database as the app sees it: a `Source` owns its session and everything kept between
refreshes (the jobs tracker, the run stream, next runs, usual figures, pg_net's answers,
outlier flags, drift marks), and makes one immutable `View` per refresh for the screen.

No Textual here: the app calls `refresh()` (and the once-a-minute reads) from its workers and
hands each view to the main screen in one call. Switching profile makes a new Source.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

from tui import rules
from tui.config import Settings
from tui.db import ConnectOptions, Database, DatabaseError, RunStream
from tui.db import insight as reads
from tui.db.client import require_pg_cron
from tui.db.steady import KeptFacts
from tui.db.stream import JobsTracker
from tui.insight import lag, strips
from tui.insight.strips import StripRun
from tui.models import Job, Run, ServerFacts, changed_jobs
from tui.plan import diff
from tui.plan.jobs_file import JobsFile, JobsFileError
from tui.plan.jobs_file import load as load_jobs_file
from tui.upcoming import NextRuns

MAX_BACKOFF_S = 30.0

CONNECTED = "connected"


@dataclass(frozen=True)
class RunsChange:
    """What the run stream brought: all its runs anew (`replace`), or new and changed ones."""

    replace: list[Run] | None = None
    new: list[Run] = field(default_factory=list)
    changed: list[Run] = field(default_factory=list)


@dataclass(frozen=True)
class View:
    """What the main screen shows after one refresh (or one of the once-a-minute reads).

    `facts` and `jobs` are the last ones read; while `state` is not "connected" they are
    only as of `stale_s` seconds ago, and the screen says so."""

    state: str
    facts: ServerFacts | None = None
    jobs: list[Job] = field(default_factory=list)
    read_only: bool = False
    error: str | None = None  # why the last refresh failed, and when it is tried again
    stale_s: float | None = None  # how old facts and jobs are, when the last refresh failed
    runs: RunsChange | None = None  # None: the stream brought nothing to show
    changed: list[Job] | None = None  # jobs not the same objects as before; None: all may be
    # Read by the screen, never changed: a new refresh makes new ones.
    marks: dict[int, str] = field(default_factory=dict)  # drift from the jobs file
    outliers: dict[int, str] = field(default_factory=dict)  # last runs far from usual
    http_errors: dict[int, str] | None = None  # None: not read yet
    http_outcomes: dict[int, Any] | None = None  # pg_net's answers, by runid
    usual: lag.Usuals | None = None
    # Each job's recent runs as marks (tui/insight/strips.py), oldest first; a job's tuple
    # is the same object while its runs are the same.
    strips: Mapping[int, tuple[StripRun, ...]] = field(default_factory=dict)
    notice: str | None = None  # said once (a jobs file that does not load)

    @property
    def connected(self) -> bool:
        return self.state == CONNECTED


class Source:
    """One database's session and state; `refresh()` reads and returns the next View."""

    def __init__(self, opts: ConnectOptions, settings: Settings, *,
                 observe: Callable[[ServerFacts], ServerFacts] = lambda facts: facts):
        self.opts, self.settings, self.observe = opts, settings, observe
        self.db = Database(opts)
        self.stream = RunStream(self.db)
        self.jobs_tracker = JobsTracker(self.db)  # flat cost per refresh at any history size
        self.kept = KeptFacts(self.db)  # read once, then only their markers (tui/db/steady.py)
        self.next_runs = NextRuns()
        self.failures = 0
        self.facts: ServerFacts | None = None
        self.jobs: list[Job] = []
        self.read_only = opts.read_only
        self.usual: lag.Usuals | None = None  # each job's usual lag and duration
        self._usual_at = float("-inf")  # when it was last asked for (monotonic)
        self._http_at = 0.0  # when pg_net's answers were last matched to runs (tui/outcome)
        self._read_at: float | None = None  # the last refresh that worked (monotonic)
        self._jobs_file: tuple[Path, JobsFile | None] | None = None
        self._marks: tuple[tuple, dict[int, str]] | None = None
        # The usual and the jobs judged for outliers, and the flags they gave.
        self._flags: tuple[lag.Usuals | None, list[Job], dict[int, str]] = (None, [], {})
        # Run strips: each job's runs of the once-a-minute read (runid -> mark), and the
        # strips drawn from them with each job's last run (see _strips).
        self._strip_runs: dict[int, dict[int, StripRun]] = {}
        self.strips: dict[int, tuple[StripRun, ...]] = {}
        self.view = View("connecting…", read_only=self.read_only)

    async def open(self) -> None:
        await self.db.open()

    async def close(self) -> None:
        await self.db.close()

    def next_delay(self) -> float:
        """The next refresh's wait: the settings' interval, doubled at each failure."""
        base = self.settings.refresh_interval
        return min(base * 2 ** self.failures, MAX_BACKOFF_S) if self.failures else base

    def job_by_id(self, jobid: int) -> Job | None:
        return next((j for j in self.jobs if j.jobid == jobid), None)

    # -- the refresh ------------------------------------------------------------------------
    async def refresh(self) -> View:
        """Read the facts, the jobs and the stream's new runs; a failure makes a view that
        keeps the last facts and jobs, marked stale."""
        try:
            facts, jobs, runs = await self._read()
        except DatabaseError as exc:
            if not exc.lost:  # pg_cron dropped, a grant revoked: the facts say so next time
                self.kept.invalidate()
            self.failures += 1
            stale = None if self._read_at is None else time.monotonic() - self._read_at
            self.view = replace(self.view, state="reconnecting…" if exc.lost else "error",
                                error=f"{exc}  (retrying in {self.next_delay():.0f} s)",
                                stale_s=stale, runs=None, changed=[], notice=None)
            return self.view
        self.failures, self._read_at = 0, time.monotonic()
        changed = changed_jobs(self.jobs, jobs)
        self.facts, self.jobs = facts, jobs
        self.read_only = self.opts.read_only or facts.read_only_reason is not None
        notice = None
        try:
            marks = self._marks_of(jobs, facts)
        except JobsFileError as exc:
            marks, notice = {}, str(exc)
        self.view = View(CONNECTED, facts, jobs, self.read_only, runs=runs, changed=changed,
                         marks=marks, outliers=self._outliers(jobs), notice=notice,
                         http_errors=self.view.http_errors, usual=self.usual,
                         strips=self._strips(jobs if changed is None else changed))
        return self.view

    async def _read(self) -> tuple[ServerFacts, list[Job], RunsChange]:
        """In steady state one round trip: the facts' markers, the jobs' changes, the run
        stream's unfinished and new runs, read together. What is due in full (the facts, the
        jobs, the stream's start) costs a round trip of its own."""
        facts_reads = self.kept.steady_reads()
        facts = self.kept.facts if facts_reads else await self.kept.take()
        assert facts is not None
        require_pg_cron(facts)
        jobs_reads = self.jobs_tracker.steady_reads(indexed=facts.has_run_index)
        stream = self.stream
        runs_reads = stream.steady_reads() if stream.last_runid is not None else []
        reads = [*facts_reads, *jobs_reads, *runs_reads]
        answers = iter(await self.db.fetch_many(reads, prepare=True) if reads else [])
        if facts_reads:
            facts = await self.kept.take(next(answers))
            require_pg_cron(facts)
        jobs = await self.jobs_tracker.take(next(answers) if jobs_reads else None,
                                            indexed=facts.has_run_index)
        if runs_reads:
            new, changed = await stream.take(next(answers), next(answers))
            return self.observe(facts), jobs, RunsChange(new=new, changed=changed)
        return self.observe(facts), jobs, RunsChange(replace=await stream.start())

    def restart_stream(self, jobid: int | None, status: str | None) -> RunStream:
        """The run stream again from its newest runs, for this job and status (None: all)."""
        self.stream = RunStream(self.db, jobid=jobid, status=status)
        return self.stream

    # -- the once-a-minute reads, apart from the refresh ----------------------------------------
    def usual_due(self) -> bool:
        if self._usual_at == float("-inf"):
            # Not while the first screen is being drawn: a couple of seconds later.
            self._usual_at = time.monotonic() - lag.REFRESH_S + lag.FIRST_AFTER_S
            return False
        if time.monotonic() - self._usual_at >= lag.REFRESH_S:
            self._usual_at = time.monotonic()
            return True
        return False

    def http_due(self) -> bool:
        if time.monotonic() - self._http_at >= lag.REFRESH_S:
            self._http_at = time.monotonic()
            return True
        return False

    async def read_usual(self) -> View | None:
        """Each job's usual lag and duration (tui/insight/lag), and the outliers they show;
        None when it could not be read (a lost session shows at the next refresh)."""
        facts, jobs = self.facts, self.jobs
        if facts is None:
            return None
        try:
            # The one sample (tui/rules.py), whose statuses also draw the run strips.
            rows = await reads.recent_finished(self.db, lag.LOOKBACK, lag.PER_JOB)
        except DatabaseError:
            return None
        try:  # only the strips need them: the usual stands without
            unfinished = await reads.unfinished(self.db, lag.LOOKBACK)
        except DatabaseError:
            unfinished = []
        # Thousands of schedule look-ups: off the event loop, the screen keeps drawing.
        usual = await asyncio.to_thread(lag.build, rows, jobs, facts.scheduler_timezone,
                                        facts.pg_cron_grammar or "1.6", self.usual)
        self.usual = usual
        self._strip_runs = _strip_runs(rows, unfinished, usual)
        ids = {j.jobid for j in jobs}
        if self.strips.keys() - ids:  # deleted jobs' strips go
            self.strips = {jobid: s for jobid, s in self.strips.items() if jobid in ids}
        self.view = replace(self.view, usual=usual, outliers=self._outliers(self.jobs),
                            strips=self._strips(self.jobs), runs=None, changed=[],
                            notice=None)
        return self.view

    async def read_http(self, shown: Iterable[Run]) -> View | None:
        """pg_net's answers to HTTP runs (those `shown`, and each job's last; tui/outcome),
        for runs of the last day (pg_net keeps its answers for pg_net.ttl, 6 h by default)."""
        from tui.http_jobs import is_http_job
        from tui.http_jobs.outcome import http_outcomes, last_run

        facts, jobs = self.facts, self.jobs
        http_jobs = {j.jobid for j in jobs if is_http_job(j.command)}
        if facts is None or not http_jobs:
            return None
        since = facts.now - timedelta(days=1)
        runs = [r for r in shown if r.jobid in http_jobs and r.start_time
                and r.start_time >= since]
        lasts = {j.jobid: run for j in jobs if j.jobid in http_jobs
                 and (run := last_run(j)) is not None
                 and run.start_time is not None and run.start_time >= since}
        wanted = {r.runid: r for r in [*runs, *lasts.values()]}
        try:
            outcomes = await http_outcomes(self.db, list(wanted.values()), jobs,
                                           current_database=facts.database, now=facts.now)
        except DatabaseError:
            return None
        errors = {jobid: got.short() for jobid, run in lasts.items()
                  if (got := outcomes.get(run.runid)) is not None and got.is_error}
        self.view = replace(self.view, http_errors=errors, http_outcomes=outcomes, runs=None,
                            changed=[], notice=None)
        return self.view

    # -- what the jobs are flagged with -----------------------------------------------------
    def _strips(self, jobs: Sequence[Job]) -> dict[int, tuple[StripRun, ...]]:
        """Each job's strip: the minute's read with the job's last run (newer, or changed
        since), made again for `jobs` only (those that changed, or all after the read); a
        new dict only when a strip changed, so an unchanged refresh costs the table nothing."""
        usual = self.usual  # None before the first read: the last run alone, never late
        made = self.strips
        for job in jobs:
            runs = self._strip_runs.get(job.jobid, {})
            if job.last_runid is not None and job.last_status is not None \
                    and not lag.is_manual(job.last_message):
                duration = (job.last_end - job.last_start).total_seconds() \
                    if job.last_start and job.last_end else None
                runs = {**runs, job.last_runid: strips.judged(
                    job.last_runid, job.last_status, orphaned=job.last_orphaned,
                    lag=usual.lag(job.jobid, job.last_start, job.last_runid)
                    if usual is not None and job.last_status == "succeeded" else None,
                    duration=duration,
                    usual=usual.by_job.get(job.jobid) if usual is not None else None)}
            strip = strips.newest(runs)
            if made.get(job.jobid) != strip:
                if made is self.strips:
                    made = dict(made)
                made[job.jobid] = strip
        self.strips = made
        return made

    def _outliers(self, jobs: list[Job]) -> dict[int, str]:
        """Jobs whose last run was far outside their usual: judged again for the jobs that
        changed, or all when the usual did (once a minute)."""
        usual = self.usual
        if usual is None:
            return {}
        was_usual, was_jobs, flags = self._flags
        replaced = changed_jobs(was_jobs, jobs) if was_usual is usual else None
        if replaced is None:
            flags, replaced = {}, jobs
        else:
            flags = dict(flags)
        for j in replaced:
            flag = usual.flag(j.jobid, j.last_runid, j.last_start, j.last_end, j.last_message)
            if flag:
                flags[j.jobid] = flag
            else:
                flags.pop(j.jobid, None)
        self._flags = (usual, jobs, flags)
        return flags

    def _marks_of(self, jobs: list[Job], facts: ServerFacts) -> dict[int, str]:
        """Jobs that differ from the profile's jobs file, with how (empty without a file).
        Raises JobsFileError once when the file does not load."""
        path = self.settings.jobs_file
        if path is None:
            return {}
        if self._jobs_file is None or self._jobs_file[0] != path:
            self._jobs_file = (path, None)
            self._jobs_file = (path, load_jobs_file(path))
        spec = self._jobs_file[1]
        if spec is None:
            return {}
        # The diff reads only the jobs' definitions: redone when cron.job changed (its
        # fingerprint), not at every refresh that merely brought new runs.
        key = (path, self.jobs_tracker.fingerprint, facts.database, facts.current_user,
               facts.pg_cron_version)
        if self._marks is None or self._marks[0] != key:
            self._marks = (key, {
                item.jobid: (f"≠ file: {', '.join(item.fields)}" if item.fields
                             else f"file: {item.action}")
                for item in diff(spec, jobs, facts).items if item.jobid is not None})
        return self._marks[1]


def _strip_runs(rows: Iterable[dict[str, Any]], unfinished: Iterable[dict[str, Any]],
                usual: lag.Usuals) -> dict[int, dict[int, StripRun]]:
    """The once-a-minute read's runs as marks, per job: finished ones (late by the lag rule,
    with the lag worked out for the usual), and unfinished ones (orphaned by the rule)."""
    by_job: dict[int, dict[int, StripRun]] = {}
    for r in rows:
        jobid, runid = r["jobid"], r["runid"]
        mine = usual.by_job.get(jobid)
        figures = mine.runs.get(runid) if mine is not None else None
        by_job.setdefault(jobid, {})[runid] = strips.judged(
            runid, r["status"], lag=figures[1] if figures else None,
            duration=(r["end_time"] - r["start_time"]).total_seconds(), usual=mine)
    for r in unfinished:
        orphaned = rules.is_orphaned(r["status"], r["job_pid"], r["pid_alive"],
                                     r["before_server_start"])
        by_job.setdefault(r["jobid"], {})[r["runid"]] = strips.judged(
            r["runid"], r["status"], orphaned=orphaned)
    return {jobid: dict(sorted(runs.items())[-strips.DETAIL_RUNS:])
            for jobid, runs in by_job.items()}
