"""Following cron.job_run_details as it grows, by keyset on runid."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from tui import rules
from tui.db.client import RUNS_AFTER_PAGE, Database, Read, jobs_of, jobs_read, runs_of
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
        runs = await self.db.runs_recent(limit=backlog, jobid=self.jobid, status=self.status)
        self.last_runid = max((r.runid for r in runs), default=0)
        self.unfinished = {r.runid for r in runs if not r.finished}
        return runs

    def steady_reads(self) -> list[Read]:
        """What a poll reads (after start()), to go in one round trip with the refresh's other
        reads: the runs seen unfinished as they are now, and the runs newer than the last."""
        return [("runs_by_ids", {"ids": sorted(self.unfinished)}),
                ("runs_after", {"after": self.last_runid or 0, "jobid": self.jobid,
                                "status": self.status})]

    async def poll(self) -> tuple[list[Run], list[Run]]:
        """(new runs oldest first, runs that changed state); call start() first."""
        if self.last_runid is None:
            return await self.start(), []
        changed, new = await self.db.fetch_many(self.steady_reads())
        return await self.take(changed, new)

    async def take(self, changed_rows: list[dict[str, Any]], new_rows: list[dict[str, Any]],
                   ) -> tuple[list[Run], list[Run]]:
        """poll()'s answer from the rows of its steady_reads(). Each unfinished run comes judged
        orphaned or not (runs_of), re-read at every poll: its backend may be gone since."""
        changed, new = runs_of(changed_rows), runs_of(new_rows)
        for run in changed:
            if run.finished:
                self.unfinished.discard(run.runid)
        # Runs deleted meanwhile (a purge) will never report back: forget them.
        self.unfinished &= {r.runid for r in changed}
        limit = RUNS_AFTER_PAGE
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
        return new, changed


#: A steady-state refresh re-reads this many runids below the newest seen, for runs that
#: committed late (runids are taken before a run's row commits).
MARGIN_RUNIDS = 200
#: jobs_changes.sql reads at most this many new runs: further behind, the jobs are read in full.
MAX_NEW_RUNS = 20_000
#: Every this many refreshes the jobs are read in full whatever the markers say: a safety
#: net (a standby's statistics do not count the primary's deletes, say).
FULL_EVERY = 900
#: Every this many refreshes cron.job's fingerprint is read (it reads every job): what the
#: statistics miss (a standby) or count late shows within this many refreshes.
FINGERPRINT_EVERY = 5


@dataclass
class JobsTracker:
    """Each job with its latest run, at a cost per refresh that does not grow with history.

    The first read (and every FULL_EVERY-th, any after cron.job changed, any after runs were
    deleted) asks for every job's latest run: one probe of the (jobid, runid) index per job, or
    the bounded look-back without it. In between, only runs newer than the newest seen (a
    primary-key range scan) and the latest runs seen unfinished are read, and merged into what
    is known. When nothing changed, the same list object is returned, so the screen can skip
    redrawing. An unfinished last run is re-read, and judged orphaned or not, at every read: in
    the same statement.
    """

    db: Database
    known: dict[int, Job] = field(default_factory=dict)
    jobs: list[Job] = field(default_factory=list)
    # The markers of the last full read: cron.job's fingerprint, the statistics' counts of its
    # writes and of the runs deleted, our own write transactions (Database.writes).
    fingerprint: str | None = None
    written: tuple[int | None, int | None, int] | None = None
    newest: int = 0
    indexed: bool | None = None
    reads: int = 0


    def steady_reads(self, *, indexed: bool) -> list[Read]:
        """What a steady-state read asks, to go in one round trip with the refresh's other
        reads; none when a full read is due (then `take([])` makes it)."""
        self.reads += 1
        if (self.written is None or self.written[2] != self.db.writes
                or indexed != self.indexed or self.reads % FULL_EVERY == 0):
            return []
        watch = [j.last_runid for j in self.known.values()
                 if j.last_runid is not None and j.last_end is None]
        return [("jobs_changes", {"after": max(self.newest - MARGIN_RUNIDS, 0),
                                  "watch": watch,
                                  "fingerprint": self.reads % FINGERPRINT_EVERY == 0})]

    async def read(self, *, indexed: bool) -> list[Job]:
        wanted = self.steady_reads(indexed=indexed)
        return await self.take(*(await self.db.fetch_many(wanted) if wanted else []),
                               indexed=indexed)

    async def take(self, rows: list[dict[str, Any]] | None = None, *,
                   indexed: bool) -> list[Job]:
        """The jobs from the rows of steady_reads(): merged into what is known, or read in full
        (a second round trip) when none were asked for or cron.job changed."""
        if not rows or self._moved(rows[0]) or rows[0]["new_runs"] >= MAX_NEW_RUNS:
            return await self._full(indexed)
        self.newest = max(self.newest, rows[0]["newest"] or 0)
        changed = False
        for row in rows:
            job = self.known.get(row["jobid"]) if row["jobid"] is not None else None
            if job is None:
                continue  # runs of jobs deleted (or not visible): nothing to show
            if job.last_runid is not None and row["runid"] < job.last_runid:
                continue
            fresh = replace(job, last_runid=row["runid"], last_status=row["status"],
                            last_start=row["start_time"], last_end=row["end_time"],
                            last_message=row["return_message"], last_run_lookback=None,
                            last_orphaned=rules.is_orphaned(
                                row["status"], row["job_pid"], row["pid_alive"],
                                row["before_server_start"])
                            if row["status"] in rules.UNFINISHED else None)
            if fresh != job:  # else already known, as it is
                self.known[job.jobid] = fresh
                changed = True
        if changed:
            self.jobs = list(self.known.values())
        return self.jobs

    def _moved(self, head: dict[str, Any]) -> bool:
        """Whether a marker says cron.job changed, or runs were deleted, since the full read."""
        assert self.written is not None
        return ((head["jobs_written"], head["runs_deleted"]) != self.written[:2]
                or head["fingerprint"] not in (None, self.fingerprint))

    async def _full(self, indexed: bool) -> list[Job]:
        # The markers and the newest runid first: anything that lands meanwhile is seen by
        # the next steady-state read.
        writes = self.db.writes
        (head,), rows = await self.db.fetch_many([
            ("jobs_changes", {"after": 2**62, "watch": [], "fingerprint": True}),
            jobs_read(indexed)])
        jobs = jobs_of(rows)
        self.fingerprint = head["fingerprint"]
        self.written = (head["jobs_written"], head["runs_deleted"], writes)
        self.newest, self.indexed = head["newest"] or 0, indexed
        # Jobs that did not change keep their objects: what is drawn from them is not redone.
        known = self.known
        self.known = {j.jobid: known[j.jobid] if known.get(j.jobid) == j else j for j in jobs}
        fresh = list(self.known.values())
        if len(fresh) != len(self.jobs) or any(a is not b for a, b in zip(fresh, self.jobs)):
            self.jobs = fresh  # else the same list: "nothing changed"
        return self.jobs
