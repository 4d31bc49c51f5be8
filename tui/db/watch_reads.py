"""The reads of a `watch` pass (tui/insight/observe.py): a steady pass is one round trip.

What rarely changes (the server's facts, the jobs, the usual sample, the unfinished runs, the
scheduler's settings) is read by `full`, at the first pass and again when the markers say it
changed or every few minutes; each pass reads only the markers, the runs after the last runid
seen (and those it saw unfinished) and pg_net's answers after the last id: `steady`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tui import rules
from tui.db.client import RUNS_AFTER_PAGE, Database, jobs_of, jobs_read, require_pg_cron, runs_of
from tui.db.insight import SchedulerFacts
from tui.models import Job, Run, ServerFacts

#: pg_net answers read a pass.
HTTP_LIMIT = 200


@dataclass
class Markers:
    """What a steady pass reads first: compared with the last full read's (`stale`)."""

    now: datetime
    scheduler_alive: bool | None
    launcher_start: datetime | None
    in_recovery: bool
    postmaster_start: datetime | None
    conf_load_time: datetime | None
    pg_cron_version: str | None
    pg_net_version: str | None
    role: str | None
    cron_usage: bool
    jobs_fingerprint: str | None
    oldest_start: datetime | None

    @property
    def launcher_known(self) -> bool:
        return self.scheduler_alive is not None

    def facts_key(self) -> tuple[Any, ...]:
        """What the facts read once depend on: a restart, a reload, pg_cron updated, pg_net
        created or updated, the role's attributes or its usage of schema cron."""
        return (self.postmaster_start, self.conf_load_time, self.pg_cron_version,
                self.pg_net_version, self.role, self.cron_usage)


@dataclass
class Full:
    """What a full read gives."""

    facts: ServerFacts
    markers: Markers
    jobs: list[Job] | None  # None: not read (kept from before)
    max_running_jobs: int | None
    http_readable: bool
    usual_rows: list[dict[str, Any]] | None  # None: not read (kept from before)
    unfinished: list[int]


@dataclass
class Steady:
    markers: Markers
    runs: list[Run]  # each unfinished one judged orphaned or not (Run.orphaned)
    http_errors: list[dict[str, Any]] | None = None
    http_ok: int | None = None
    more: bool = False  # a whole page of new runs: more may follow


async def jobs(db: Database, indexed: bool) -> list[Job]:
    return await db.jobs(indexed=indexed)


async def full(db: Database, *, everything: bool = True) -> Full:
    """The facts, then what is read once (two round trips): with `everything`, the jobs and
    the usual sample too (kept exact from the runs read since, they need reading only at
    start and when a marker says so)."""
    facts = await db.facts()
    require_pg_cron(facts)  # before reading its tables: the error says what to do
    reads: list[tuple[str, Mapping[str, Any] | None]] = [
        ("watch_markers", None),
        ("insight_scheduler", None),
        ("insight_pg_net", None),
        ("insight_unfinished", {"lookback": rules.USUAL_LOOKBACK})]
    if everything:
        reads += [jobs_read(facts.has_run_index),
                  ("insight_recent_runs", {"lookback": rules.USUAL_LOOKBACK,
                                           "per_job": rules.USUAL_PER_JOB})]
    got = await db.fetch_many(reads)
    marks, sched, net, unfinished = got[:4]
    return Full(facts, Markers(**marks[0]),
                jobs_of(got[4]) if everything else None,
                SchedulerFacts(**sched[0]).max_running_jobs,
                bool(net[0]["present"] and net[0]["readable"]),
                got[5] if everything else None, [r["runid"] for r in unfinished])


async def steady(db: Database, after: int, open_ids: Sequence[int],
                 http_after: int | None) -> Steady:
    """The markers, the runs after `after` and those of `open_ids`, and (when `http_after`
    is not None) pg_net's answers after it: one round trip."""
    # The TUI's steady reads of runs: the unfinished ones seen (when there are), then a page
    # of new ones.
    seen_ids = [i for i in open_ids if i <= after]
    reads: list[tuple[str, Mapping[str, Any] | None]] = [
        ("watch_markers", None),
        *([("runs_by_ids", {"ids": seen_ids})] if seen_ids else []),
        ("runs_after", {"after": after, "jobid": None, "status": None})]
    if http_after is not None:
        reads += [("insight_http_errors", {"after": http_after, "limit": HTTP_LIMIT}),
                  ("insight_http_ok", {"after": http_after})]
    # Prepared where the connection allows it (not through a transaction pooler): the
    # planning is otherwise a good part of a steady pass's server time.
    got = iter(await db.fetch_many(reads, prepare=True))
    (marks,) = next(got)
    seen = next(got) if seen_ids else []
    new = next(got)
    out = Steady(Markers(**marks), runs_of(seen + new))
    out.more = len(new) >= RUNS_AFTER_PAGE
    if http_after is not None:
        out.http_errors = next(got)
        out.http_ok = next(got)[0]["id"]
    return out
