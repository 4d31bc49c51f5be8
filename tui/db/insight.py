"""Reads behind explain, timeline and watch: bounded, keyset on runid."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tui import rules
from tui.db.client import Database, DatabaseError, Read, jobs_of, jobs_read, runs_of
from tui.rules import Usual

__all__ = ["Read", "RecentRuns", "RunsSince", "Usual", "http_errors", "jobs_of", "jobs_read",
           "max_runid", "read_together", "recent_finished", "recent_read", "rows_of", "runs_of",
           "runs_page_read", "runs_recent_read", "runs_since", "scheduler", "scheduler_from",
           "scheduler_read", "unfinished", "usual_durations"]


#: Runs are read back in pages of this many runids...
PAGE = 5_000
#: ...and never more than this many in all (a week of ~20 every-minute jobs).
MAX_RUNS = 250_000
#: The usual sample is read among this many newest runids (tui/rules.py).
DURATION_LOOKBACK = rules.USUAL_LOOKBACK
#: A run may start this long after the window's first time and still belong to it (queued).
QUEUE_SLACK = timedelta(hours=1)


@dataclass(frozen=True)
class SchedulerFacts:
    launcher_start: datetime | None
    launcher_known: bool
    postmaster_start: datetime | None
    in_recovery: bool
    max_running_jobs: int | None
    oldest_start: datetime | None
    now: datetime


async def read_together(db: Database, reads: list[Read]
                        ) -> list[list[dict[str, Any]] | DatabaseError]:
    """Independent reads in one round trip (Database.fetch_many). When the server refuses one
    of them (a privilege this role lacks), each is asked alone, so the others still answer:
    each result is its rows or the refusal, for the caller to handle as it handled that read
    alone. A lost connection raises."""
    try:
        return list(await db.fetch_many(reads))
    except DatabaseError as exc:
        if exc.lost:
            raise
    out: list[list[dict[str, Any]] | DatabaseError] = []
    for name, params in reads:
        try:
            out.append(await db.fetch(name, params))
        except DatabaseError as exc:
            if exc.lost:
                raise
            out.append(exc)
    return out


def rows_of(result: list[dict[str, Any]] | DatabaseError) -> list[dict[str, Any]]:
    """A read_together result's rows; its refusal raised, as the read alone would have."""
    if isinstance(result, DatabaseError):
        raise result
    return result


def runs_recent_read(*, limit: int, jobid: int | None = None, status: str | None = None,
                     ) -> Read:
    """Database.runs_recent's read (the newest runs), to batch."""
    return ("runs_recent", {"limit": limit, "before": None, "jobid": jobid, "status": status})


def scheduler_read() -> Read:
    return ("insight_scheduler", None)


def scheduler_from(rows: list[dict[str, Any]]) -> SchedulerFacts:
    (row,) = rows
    return SchedulerFacts(**row)


async def scheduler(db: Database) -> SchedulerFacts:
    return scheduler_from(await db.fetch(*scheduler_read()))


def runs_page_read(before: int = 2**63 - 1, *, jobid: int | None = None,
                   query: str = "insight_runs_page") -> Read:
    """runs_since's page of runs older than runid `before` (the first: the newest)."""
    return (query, {"before": before, "limit": PAGE, "jobid": jobid})


async def runs_since(db: Database, since: datetime, *, jobid: int | None = None,
                     max_runs: int = MAX_RUNS, query: str = "insight_runs_page",
                     first: list[dict[str, Any]] | None = None,
                     ) -> tuple[list[dict[str, Any]], datetime | None]:
    """Every run (all jobs: concurrency needs them) that started after `since`, newest pages
    first until a page starts before it; also where reading stopped short when the bound was
    hit (None: everything since `since` was read). `query`: the page's .sql (the accuracy
    check's also says which runs were started by hand). `first`: the newest page, when it was
    read already (runs_page_read, batched with other reads)."""
    rows: list[dict[str, Any]] = []
    before = 2**63 - 1
    while True:
        if first is not None:
            page, first = first, None
        else:
            page = await db.fetch(*runs_page_read(before, jobid=jobid, query=query))
        rows += page
        if len(page) < PAGE:
            return rows, None
        before = page[-1]["runid"]
        starts = [r["start_time"] for r in page if r["start_time"] is not None]
        # runids are taken as runs are queued, so an older page starts earlier: one page past
        # the window is enough, give or take the runs queued behind a long one.
        if starts and min(starts) < since - QUEUE_SLACK:
            return rows, None
        if len(rows) >= max_runs:
            oldest = min(starts) if starts else None
            return rows, oldest


class RunsSince:
    """runs_since() for a session that asks again and again (the app matching pg_net's
    answers, once a minute, over the last day's runs): the runs read before are kept; each
    read asks only for the runs newer than the newest kept (less SLACK, for a row that became
    visible after a newer one's) and for those kept unfinished, and reads in full every
    FULL_EVERY-th time (runs deleted meanwhile go) or when the window reaches further back."""

    SLACK = 200
    FULL_EVERY = 10

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}  # runid -> row, the window's runs
        self.since: datetime | None = None
        self.reads = 0

    async def read(self, db: Database, since: datetime) -> list[dict[str, Any]]:
        """runs_since(db, since)'s rows, newest first."""
        if self.reads % self.FULL_EVERY == 0 or self.since is None or since < self.since:
            rows, _cut = await runs_since(db, since)
            self.rows, self.since = {r["runid"]: r for r in rows}, since
        else:
            watch = [r for r, row in self.rows.items() if row["status"] not in FINISHED]
            for row in await db.fetch("insight_runs_newer", {
                    "after": max(self.rows, default=0) - self.SLACK, "watch": watch,
                    "limit": MAX_RUNS}):
                self.rows[row["runid"]] = row
            self.since = since
            self.rows = {r: row for r, row in self.rows.items() if row["start_time"] is None
                         or row["start_time"] >= since - QUEUE_SLACK}
        self.reads += 1
        return [self.rows[r] for r in sorted(self.rows, reverse=True)]


async def usual_durations(db: Database) -> dict[int, Usual]:
    """Every job's usual (tui/rules.py: the one sample, durations only), by jobid."""
    return rules.usuals_from_rows(await recent_finished(db))


async def recent_finished(db: Database, lookback: int = DURATION_LOOKBACK,
                          per_job: int = rules.USUAL_PER_JOB) -> list[dict[str, Any]]:
    """Each job's newest finished runs (at most `per_job`) among the newest `lookback`."""
    return await db.fetch(*recent_read(lookback, per_job))


def recent_read(lookback: int = DURATION_LOOKBACK, per_job: int = rules.USUAL_PER_JOB) -> Read:
    """recent_finished's read, to batch; rules.usuals_from_rows makes the usuals of its rows."""
    return ("insight_recent_runs", {"lookback": lookback, "per_job": per_job})


async def unfinished(db: Database, lookback: int = DURATION_LOOKBACK) -> list[dict[str, Any]]:
    return await db.fetch("insight_unfinished", {"lookback": lookback})


FINISHED = ("succeeded", "failed")


class RecentRuns:
    """What recent_finished() and unfinished() read, kept by a session that asks again and
    again (the app, once a minute): each read asks only for the runs newer than the newest
    seen (less SLACK, for a run whose row became visible after a newer one's) and for those
    seen unfinished, a primary-key range scan of about a minute's runs and a few probes, and
    merges them into the runs it holds; every FULL_EVERY-th read reads the whole window
    again, so runs deleted meanwhile go. The sample and the unfinished runs it hands out are
    what the two one-shot reads would return."""

    SLACK = 200
    FULL_EVERY = 10

    def __init__(self, lookback: int = DURATION_LOOKBACK,
                 per_job: int = rules.USUAL_PER_JOB):
        self.lookback, self.per_job = lookback, per_job
        self.runs: dict[int, dict[str, Any]] = {}  # runid -> row, the window's runs
        self.reads = 0

    async def read(self, db: Database) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(recent_finished()'s rows, unfinished()'s rows), in one statement."""
        full = self.reads % self.FULL_EVERY == 0 or not self.runs
        after = 0 if full else max(self.runs) - self.SLACK
        watch = [] if full else [r for r, row in self.runs.items()
                                 if row["status"] not in FINISHED]
        rows = await db.fetch("insight_recent_since", {"lookback": self.lookback,
                                                       "after": after, "watch": watch})
        self.reads += 1
        if full:
            self.runs = {}
        floor = int(rows[0]["newest"]) - self.lookback if rows else 0
        for row in rows:
            if row["runid"] is not None:
                self.runs[row["runid"]] = row
        self.runs = {runid: row for runid, row in self.runs.items() if runid > floor}
        return self._sample(), [
            {k: row[k] for k in UNFINISHED_COLUMNS} for runid, row in sorted(self.runs.items())
            if row["status"] not in FINISHED]

    def _sample(self) -> list[dict[str, Any]]:
        """Each job's newest finished runs, at most per_job (tui/rules.py's sample)."""
        kept: dict[int, int] = {}
        out = []
        for runid in sorted(self.runs, reverse=True):
            row = self.runs[runid]
            if row["status"] not in FINISHED or row["start_time"] is None \
                    or row["end_time"] is None or row["manual"]:
                continue
            if kept.get(row["jobid"], 0) < self.per_job:
                kept[row["jobid"]] = kept.get(row["jobid"], 0) + 1
                out.append({k: row[k] for k in SAMPLE_COLUMNS})
        return out


SAMPLE_COLUMNS = ("runid", "jobid", "status", "start_time", "end_time")
UNFINISHED_COLUMNS = ("runid", "jobid", "status", "start_time", "end_time", "job_pid",
                      "pid_alive", "before_server_start")


async def max_runid(db: Database) -> int:
    (row,) = await db.fetch("insight_max_runid")
    return int(row["max_runid"])


async def http_errors(db: Database, after: int, limit: int = 200) -> list[dict[str, Any]] | None:
    """pg_net's error responses newer than id `after`; None when pg_net's table is absent or
    unreadable here."""
    (probe,) = await db.fetch("insight_pg_net")
    if not probe["present"] or not probe["readable"]:
        return None
    return await db.fetch("insight_http_errors", {"after": after, "limit": limit})


async def http_ok_after(db: Database, after: int) -> int | None:
    """The newest pg_net answer after id `after` that is not an error (None: none)."""
    (row,) = await db.fetch("insight_http_ok", {"after": after})
    return None if row["id"] is None else int(row["id"])
