"""Following cron.job_run_details as it grows, by keyset on runid."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tui.db.client import Database
from tui.db.liveness import judge_jobs, judge_runs
from tui.models import Job, Run


@dataclass
class RunStream:
    """Remembers the last runid seen and the runs seen unfinished.

    Each poll asks for rows newer than the last one seen, plus the current state of
    the unfinished ones, so a reconnect resumes exactly where the stream stopped.
    """

    db: Database
    jobid: int | None = None
    status: str | None = None
    last_runid: int | None = None
    unfinished: set[int] = field(default_factory=set)

    async def start(self, backlog: int = 100) -> list[Run]:
        """The newest `backlog` runs, newest first."""
        runs = await judge_runs(self.db, await self.db.runs_recent(
            limit=backlog, jobid=self.jobid, status=self.status))
        self.last_runid = max((r.runid for r in runs), default=0)
        self.unfinished = {r.runid for r in runs if not r.finished}
        return runs

    async def poll(self, limit: int = 1000) -> tuple[list[Run], list[Run]]:
        """(new runs oldest first, runs that changed state); call start() first."""
        if self.last_runid is None:
            return await self.start(), []
        changed = await self.db.runs_by_ids(sorted(self.unfinished))
        new = await self.db.runs_after(self.last_runid, limit=limit, jobid=self.jobid,
                                       status=self.status)
        for run in changed:
            if run.finished:
                self.unfinished.discard(run.runid)
        # Runs deleted meanwhile (a purge) will never report back: forget them.
        self.unfinished &= {r.runid for r in changed}
        if len(new) >= limit:
            # Far behind (a burst, or a long disconnect): nobody reads thousands of runs
            # scrolling past, and the table keeps only the newest few hundred. Jump to the
            # newest `limit` so memory and the next poll stay bounded.
            newest = await self.db.runs_recent(limit=limit, jobid=self.jobid,
                                               status=self.status)
            if newest and newest[0].runid > new[-1].runid:
                new = newest[::-1]
        for run in new:
            if not run.finished:
                self.unfinished.add(run.runid)
        if new:
            self.last_runid = new[-1].runid
        # Unfinished runs are re-read at every poll: each says whether it is orphaned.
        judged = await judge_runs(self.db, [*new, *changed])
        return judged[:len(new)], judged[len(new):]


#: A steady-state refresh re-reads this many runids below the newest seen, for runs that
#: committed late (runids are taken before a run's row commits).
MARGIN_RUNIDS = 200
#: Every this many refreshes the jobs are read in full, to notice runs deleted by a purge.
FULL_EVERY = 30


@dataclass
class JobsTracker:
    """Each job with its latest run, at a cost per refresh that does not grow with history.

    The first read (and every FULL_EVERY-th, and any after cron.job changed) asks for every
    job's latest run: one probe of the (jobid, runid) index per job, or the bounded look-back
    without it. In between, only runs newer than the newest seen (a primary-key range scan)
    and the latest runs seen unfinished are read, and merged into what is known. When nothing
    changed, the same list object is returned, so the screen can skip redrawing. An unfinished
    last run is judged orphaned or not at every read (tui/db/liveness.py: one query of
    primary-key probes, only while some last run is unfinished).
    """

    db: Database
    known: dict[int, Job] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    fingerprint: str | None = None
    newest: int = 0
    indexed: bool | None = None
    reads: int = 0

    def invalidate(self) -> None:
        """Read everything next time (after our own change to a job, say)."""
        self.fingerprint = None

    async def read(self, *, indexed: bool) -> list[Job]:
        self.reads += 1
        if (self.fingerprint is None or indexed != self.indexed
                or self.reads % FULL_EVERY == 0):
            return await self._full(indexed)
        watch = [j.last_runid for j in self.known.values()
                 if j.last_runid is not None and j.last_end is None]
        rows = await self.db.fetch("jobs_changes", {
            "after": max(self.newest - MARGIN_RUNIDS, 0), "watch": watch})
        if not rows or rows[0]["fingerprint"] != self.fingerprint:
            return await self._full(indexed)
        self.newest = max(self.newest, rows[0]["newest"] or 0)
        changed = False
        for row in rows:
            job = self.known.get(row["jobid"]) if row["jobid"] is not None else None
            if job is None:
                continue  # runs of jobs deleted (or not visible): nothing to show
            if job.last_runid is not None and row["runid"] < job.last_runid:
                continue
            if (job.last_runid == row["runid"] and job.last_status == row["status"]
                    and job.last_end == row["end_time"]):
                continue  # already known, as it is
            fresh = replace(job, last_runid=row["runid"], last_status=row["status"],
                            last_start=row["start_time"], last_end=row["end_time"],
                            last_message=row["return_message"], last_run_lookback=None,
                            last_orphaned=None)
            if fresh != job:
                self.known[job.jobid] = fresh
                changed = True
        if changed:
            self.jobs = list(self.known.values())
        # Whether an unfinished last run is orphaned changes with no change of its row.
        judged = await judge_jobs(self.db, self.jobs)
        if any(a is not b for a, b in zip(judged, self.jobs)):
            self.jobs = judged
            self.known = {j.jobid: j for j in judged}
        return self.jobs

    async def _full(self, indexed: bool) -> list[Job]:
        # The fingerprint and the newest runid first: anything that lands meanwhile is seen
        # by the next steady-state read.
        (head,) = await self.db.fetch("jobs_changes", {"after": 2**62, "watch": []})
        jobs = await judge_jobs(self.db, await self.db.jobs(indexed=indexed))
        self.fingerprint, self.newest, self.indexed = head["fingerprint"], head["newest"] or 0, \
            indexed
        # Jobs that did not change keep their objects: what is drawn from them is not redone.
        known = self.known
        self.known = {j.jobid: known[j.jobid] if known.get(j.jobid) == j else j for j in jobs}
        fresh = list(self.known.values())
        if len(fresh) != len(self.jobs) or any(a is not b for a, b in zip(fresh, self.jobs)):
            self.jobs = fresh  # else the same list: "nothing changed"
        return self.jobs
