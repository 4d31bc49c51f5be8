"""Upkeep of pg_cron's run history: the (jobid, runid) index and retention.

Both run on connections of their own, never on the app's shared session, so the screen keeps
refreshing while they work. Nothing is set on those sessions (a pooler would hand the setting
on): each transaction sets its own limits, with no statement timeout for the batches; the
index build and vacuum cannot run in a transaction and keep the server's own timeout.

* `create_run_index` builds the index CONCURRENTLY (writes to the table go on) while a second
  connection polls pg_stat_progress_create_index; cancelling asks the server to cancel the
  build and drops the invalid index such a cancel leaves behind.
* `purge_history` deletes runs older than N days in batches of runid ranges (each its own
  short transaction), reporting progress after each and stopping between batches when asked.
  Rows whose end_time is null are not forgotten (see `PURGE_RULE`).
* `purge_job_sql` is the same rule as a `cron.schedule` call, to keep the history short;
  `schedule_purge` schedules it.
* `orphaned_runs` lists the runs nobody will finish (tui/rules.py's is_orphaned) and
  `mark_orphans_failed` marks them failed, each re-judged in the update itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg import sql

from tui import log, rules
from tui.db.client import Database, explain
from tui.db.connect import ConnectOptions, open_connection, transaction
from tui.db.queries import query, template

#: Our (jobid, runid) index on cron.job_run_details (pg_cron creates none).
INDEX_NAME = "job_run_details_jobid_runid_idx"
#: runids per purge batch: one short transaction each (about a second at most on 2 cores).
BATCH_RUNIDS = 50_000
PURGE_JOB_NAME = "cronjobs-tui-purge-history"
PURGE_JOB_SCHEDULE = "17 3 * * *"

#: Which runs a purge deletes. `end_time < cutoff` is the common cleanup; it misses rows whose
#: end_time is null: runs a server restart cut short ('server restarted' leaves end_time null),
#: runs that never got a start_time ('starting' rows of a scheduler that died), runs whose
#: backend vanished. Those are deleted too when they started before the cutoff, or, with no
#: start_time at all, when their runid is below the first run that started after the cutoff
#: (runids are handed out in start order). A run whose backend is still alive is kept,
#: however old: it may really still be running. The rule is sql/maint_purge_rule.sql.
PURGE_RULE = "maint_purge_rule"


class Cancelled(Exception):
    """The operator stopped the work; what was done so far stays done."""


@dataclass(frozen=True)
class HistorySize:
    rows_estimate: int | None
    total_bytes: int
    has_index: bool
    index_building: bool  # an invalid index of ours: a build in progress or interrupted


@dataclass(frozen=True)
class IndexProgress:
    phase: str
    done: int
    total: int

    @property
    def fraction(self) -> float | None:
        return self.done / self.total if self.total else None


@dataclass(frozen=True)
class PurgeProgress:
    deleted: int  # rows deleted so far
    estimate: int  # rows the purge expects to delete in all (from the catalog's estimate)
    runid: int  # the purge has handled every runid below this one
    horizon: int  # and stops at this one

    @property
    def fraction(self) -> float:
        return min(1.0, self.deleted / self.estimate) if self.estimate else 1.0


@dataclass(frozen=True)
class PurgeResult:
    deleted: int
    bytes_before: int
    bytes_after: int
    cancelled: bool
    batches: int


def _index_sql(name: str, *qualified: str) -> sql.Composed:
    return query(name).format(index=sql.Identifier(*qualified, INDEX_NAME))


async def _connect(opts: ConnectOptions) -> psycopg.AsyncConnection:
    return await open_connection(opts)


async def history_size(opts: ConnectOptions) -> HistorySize:
    conn = await open_connection(opts)
    try:
        async with transaction(conn, opts):
            cur = await conn.execute(query("maint_history"), {"index": INDEX_NAME})
            rows_estimate, total_bytes, has_index, building = await cur.fetchone()  # type: ignore[misc]
        return HistorySize(rows_estimate, total_bytes or 0, has_index, building)
    except psycopg.Error as exc:
        raise explain(exc) from exc
    finally:
        await conn.close()


# -- the index ---------------------------------------------------------------------------

async def create_run_index(opts: ConnectOptions, *,
                           on_progress: Callable[[IndexProgress], Any] | None = None,
                           cancel: asyncio.Event | None = None, poll_s: float = 0.25) -> bool:
    """Build the (jobid, runid) index without blocking pg_cron's writes. True if built, False
    if it was already there; raises Cancelled when `cancel` is set first (nothing is left
    behind), DatabaseError on a failure."""
    builder = await _connect(opts)
    watcher = await open_connection(opts)
    try:
        async with transaction(builder, opts):
            cur = await builder.execute(query("maint_history"), {"index": INDEX_NAME})
            _rows, _bytes, has_index, building = await cur.fetchone()  # type: ignore[misc]
        if has_index and not building:
            return False
        if building:  # an earlier build was interrupted: its invalid index must go first
            await builder.execute(_index_sql("maint_drop_index", "cron"))
        pid = builder.info.backend_pid
        build = asyncio.ensure_future(builder.execute(_index_sql("maint_create_index")))
        cancelled = False
        while not build.done():
            if cancel is not None and cancel.is_set() and not cancelled:
                cancelled = True
                async with transaction(watcher, opts, read_only=False):
                    await watcher.execute(query("maint_cancel_build"), {"pid": pid})
            if on_progress is not None:
                async with transaction(watcher, opts):
                    cur = await watcher.execute(query("maint_index_progress"), {"pid": pid})
                    row = await cur.fetchone()
                if row is not None:
                    on_progress(IndexProgress(row[0], row[1] or 0, row[2] or 0))
            await asyncio.wait({build}, timeout=poll_s)
        try:
            build.result()
        except psycopg.errors.QueryCanceled as exc:
            if cancelled:
                # A cancelled concurrent build leaves an INVALID index behind: remove it.
                await builder.execute(_index_sql("maint_drop_index", "cron"))
                raise Cancelled("index build cancelled; nothing was left behind") from exc
            raise explain(exc) from exc
        if on_progress is not None:
            on_progress(IndexProgress("done", 1, 1))
        return True
    except psycopg.Error as exc:
        raise explain(exc) from exc
    finally:
        await watcher.close()
        await builder.close()


# -- retention ---------------------------------------------------------------------------

def _rule(cutoff: sql.Composable, horizon: sql.Composable) -> sql.Composable:
    return template(PURGE_RULE).format(cutoff=cutoff, horizon=horizon)


async def _horizon(conn: psycopg.AsyncConnection, cutoff: datetime, lo: int, hi: int) -> int:
    """The first runid whose run started at or after `cutoff` (hi + 1 if none): a binary
    search over the primary key, about 25 probes for ten million rows, no scan."""
    low, high = lo, hi + 1
    while low < high:
        mid = (low + high) // 2
        row = await (await conn.execute(query("maint_horizon_probe"), {"runid": mid})).fetchone()
        if row is None or row[0] >= cutoff:
            high = mid
        else:
            low = mid + 1
    return low


async def purge_history(opts: ConnectOptions, days: int, *, batch: int = BATCH_RUNIDS,
                        on_progress: Callable[[PurgeProgress], Any] | None = None,
                        cancel: asyncio.Event | None = None) -> PurgeResult:
    """Delete runs older than `days` days by PURGE_RULE, `batch` runids at a time, oldest
    first, each batch committed on its own. Stops between batches when `cancel` is set
    (then `cancelled` is true in the result; what was deleted stays deleted)."""
    if days < 0:
        raise ValueError("days must be 0 or more")
    conn = await _connect(opts)
    try:
        async with transaction(conn, opts, timeout_ms=0):
            row = await (await conn.execute(query("maint_purge_start"),
                                            {"days": days})).fetchone()
        cutoff, lo, hi, bytes_before, rows_estimate = row  # type: ignore[misc]
        deleted = batches = 0
        cancelled = False
        if lo is None:
            return PurgeResult(0, bytes_before, bytes_before, False, 0)
        async with transaction(conn, opts, timeout_ms=0):
            horizon = await _horizon(conn, cutoff, lo, hi)
        # Rows are spread evenly enough over runids to estimate the share to delete.
        span = max(hi - lo + 1, 1)
        estimate = int((rows_estimate or span) * (horizon - lo) / span)
        delete = query("maint_purge_batch").format(
            rule=_rule(sql.Placeholder("cutoff"), sql.Placeholder("horizon")))
        start = lo
        while start < horizon:
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
            end = min(start + batch, horizon)
            async with transaction(conn, opts, timeout_ms=0):  # each batch its own
                cur = await conn.execute(delete, {"a": start, "b": end, "cutoff": cutoff,
                                                  "horizon": horizon})
            deleted += cur.rowcount
            batches += 1
            start = end
            if on_progress is not None:
                on_progress(PurgeProgress(deleted, max(estimate, deleted), start, horizon))
        # Rows past the horizon with no start_time and no end_time are young: kept.
        await conn.execute(query("maint_vacuum"))
        async with transaction(conn, opts):
            row = await (await conn.execute(query("maint_history_bytes"))).fetchone()
        return PurgeResult(deleted, bytes_before, row[0], cancelled, batches)  # type: ignore[index]
    except psycopg.Error as exc:
        raise explain(exc) from exc
    finally:
        with log.swallowing("closing the purge's connection"):
            await conn.close()


#: A purge's confirmation counts the runs it will delete up to this many ("more than" beyond).
COUNT_BOUND = 100_000
#: ... within this time; past it, the confirmation says "about N" from the catalog.
COUNT_TIMEOUT_MS = 5_000


@dataclass(frozen=True)
class PurgeCount:
    """How many runs a purge would delete: `runs` counted exactly when `exact`, else more
    than `runs` (the bound was reached); None when the count took too long."""

    runs: int | None
    exact: bool


async def count_purge(opts: ConnectOptions, days: int, *,
                      bound: int = COUNT_BOUND) -> PurgeCount:
    """The runs a purge of runs older than `days` days would delete now (PURGE_RULE),
    counted up to `bound`, in a read-only transaction with its own time limit."""
    conn = await open_connection(opts)
    try:
        cutoff = template("maint_purge_cutoff").format(days=sql.Literal(f"{int(days)} days"))
        horizon = template("maint_purge_horizon").format(cutoff=cutoff)
        statement = query("maint_purge_count").format(rule=_rule(cutoff, horizon))
        try:
            async with transaction(conn, opts, timeout_ms=COUNT_TIMEOUT_MS, read_only=True):
                row = await (await conn.execute(statement, {"limit": bound + 1})).fetchone()
        except psycopg.errors.QueryCanceled:
            return PurgeCount(None, False)
        runs = int(row[0]) if row else 0
        return PurgeCount(min(runs, bound), runs <= bound)
    except psycopg.Error as exc:
        raise explain(exc) from exc
    finally:
        await conn.close()


def purge_command(days: int) -> sql.Composed:
    """The purge as one statement, for pg_cron to run on its own (on a history already kept
    short, one delete a day is small). The horizon for rows without any time is the newest
    run that ended before the cutoff."""
    cutoff = template("maint_purge_cutoff").format(days=sql.Literal(f"{int(days)} days"))
    horizon = template("maint_purge_horizon").format(cutoff=cutoff)
    return template("maint_purge_command").format(rule=_rule(cutoff, horizon))


def purge_job_sql(days: int, *, name: str = PURGE_JOB_NAME,
                  schedule: str = PURGE_JOB_SCHEDULE,
                  conn: psycopg.Connection | psycopg.AsyncConnection | None = None) -> str:
    """`select cron.schedule(name, schedule, command)` for the purge, every literal quoted by
    psycopg.sql (a connection, when given, quotes by its own encoding and settings)."""
    command = purge_command(days).as_string(conn)
    return template("maint_purge_job").format(
        name=sql.Literal(name), schedule=sql.Literal(schedule),
        command=sql.Literal(command)).as_string(conn)


async def schedule_purge(db: Database, days: int) -> int:
    """Schedule the purge (`purge_job_sql`, the values bound) on `db`'s session; returns the
    job's id. pg_cron's schedule(name, ...) replaces this role's earlier purge job."""
    (row,) = await db.fetch("action_schedule", {
        "name": PURGE_JOB_NAME, "schedule": PURGE_JOB_SCHEDULE,
        "command": purge_command(days).as_string(None)})
    return int(row["jobid"])


# -- orphaned runs ---------------------------------------------------------------------

@dataclass(frozen=True)
class OrphanedRun:
    runid: int
    jobname: str | None  # None: a job this role cannot see, or one deleted since
    status: str
    start_time: datetime | None
    job_pid: int | None
    before_server_start: bool

    @property
    def why(self) -> str:
        """Why nobody will finish it, as the doctor's runs.orphaned says it."""
        if self.before_server_start:
            return "its row is older than the server's start"
        return f"its backend (pid {self.job_pid}) is gone"


@dataclass(frozen=True)
class Orphans:
    """The unfinished runs judged by tui/rules.py: `runs` orphaned; `unknown` how many cannot
    be told (this role cannot see other backends, or a standby); `may_mark`: this role may
    update cron.job_run_details and our transactions are not read-only."""

    runs: tuple[OrphanedRun, ...]
    unknown: int
    may_mark: bool


async def orphaned_runs(opts: ConnectOptions) -> Orphans:
    conn = await open_connection(opts)
    try:
        async with transaction(conn, opts):
            rows = await (await conn.execute(query("maint_orphans"))).fetchall()
            may = await (await conn.execute(query("maint_may_mark"))).fetchone()
    except psycopg.Error as exc:
        raise explain(exc) from exc
    finally:
        await conn.close()
    runs, unknown = [], 0
    for runid, jobname, status, start, pid, alive, before_start in rows:
        verdict = rules.is_orphaned(status, pid, alive, before_start)
        if verdict is None:
            unknown += 1
        elif verdict:
            runs.append(OrphanedRun(runid, jobname, status, start, pid, bool(before_start)))
    return Orphans(tuple(runs), unknown, bool(may and may[0]))


async def mark_orphans_failed(opts: ConnectOptions, runids: list[int]) -> list[int]:
    """Mark these runs failed (end_time now, a return_message saying who and why), those
    still orphaned when the update runs; returns the runids marked. In read-only mode the
    server refuses it (DatabaseError)."""
    if not runids:
        return []
    conn = await open_connection(opts)
    try:
        async with transaction(conn, opts):
            cur = await conn.execute(query("maint_mark_orphans"),
                                     {"ids": sorted({int(r) for r in runids})})
            return sorted(row[0] for row in await cur.fetchall())
    except psycopg.Error as exc:
        raise explain(exc) from exc
    finally:
        await conn.close()
