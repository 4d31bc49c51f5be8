"""What every check of the doctor shares: `Finding`, `Limits`, the statuses, the rows read
once for all checks (`Context`), and the small helpers that word findings alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from tui.db import Database, DatabaseError
from tui.db.actions import INSUFFICIENT_PRIVILEGE
from tui.db.client import Read
from tui.masking import mask
from tui.models import ServerFacts
from tui.rules import UNFINISHED as UNFINISHED  # the one definition, for the checks
from tui.rules import Usual

OK, WARNING, PROBLEM, UNKNOWN = "ok", "warning", "problem", "unknown"
STATUSES = (OK, WARNING, PROBLEM, UNKNOWN)

#: Every check, in the order they are reported.
CHECKS = (
    "pg_cron.installed",
    "pg_cron.database",
    "pg_cron.preload",
    "scheduler.running",
    "server.primary",
    "runs.stuck",
    "runs.orphaned",
    "runs.missed",
    "jobs.failing",
    "jobs.broken",
    "jobs.owner",
    "jobs.node",
    "history.size",
    "history.index",
    "history.last_runs",
    "http.ttl",
    "schedule.dialect",
    "schedule.accuracy",
)


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # one of STATUSES
    summary: str  # one sentence: what is wrong, or that it is fine
    fix: str | None = None  # the exact thing to do: SQL, a config line or a command
    details: tuple[str, ...] = ()  # one line per job or run concerned (masked, not yet inert)
    data: dict[str, Any] | None = None  # figures for --json (schedule.accuracy's counts)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = list(self.details)
        if self.data is None:
            del data["data"]  # the other checks' JSON stays as it was
        return data


@dataclass(frozen=True)
class Limits:
    """Work caps and the doctor's own thresholds; the defaults suit production, tests lower
    some. Stuck, orphaned, failing and usual are tui/rules.py's, shared with every surface."""

    missed_hours: float = 24
    missed_tolerance_s: float = 90  # a start this late still counts for its fire time
    max_fires_per_job: int = 1500
    max_jobs: int = 500  # jobs looked at for missed runs
    run_budget: int = 20_000  # runs read in all (per job when indexed: budget / jobs)
    min_per_job: int = 50
    max_per_job: int = 1500
    size_warn_rows: int = 1_000_000
    index_warn_rows: int = 10_000  # where the TUI's look-back without the index falls short


@dataclass
class Run:
    """A row of doctor_runs_*.sql: a run, and whether its backend is still there."""

    jobid: int
    runid: int
    status: str | None
    start_time: datetime | None
    end_time: datetime | None
    job_pid: int | None
    message: str | None
    pid_alive: bool | None
    seen_after: datetime | None
    before_server_start: bool | None = None


@dataclass
class Context:
    """What the checks look at, read once: the server's settings, the jobs, their runs (or
    why each could not be read)."""

    facts: ServerFacts
    limits: Limits
    server: dict[str, Any] | None = None
    server_error: str | None = None
    jobs: list[dict[str, Any]] | None = None
    jobs_error: str | None = None
    runs: dict[int, list[Run]] = field(default_factory=dict)
    runs_error: str | None = None
    runs_scope: str = ""
    usual: dict[int, Usual] = field(default_factory=dict)  # tui/rules.py's, by jobid
    # Answers read ahead, batched with others (try_fetch's pair), by query name: a check
    # reads what is not here itself.
    prefetched: dict[str, tuple[list[dict[str, Any]] | None, DatabaseError | None]] = field(
        default_factory=dict)

    async def fetch(self, db: Database, name: str, params: Mapping[str, Any] | None = None,
                    ) -> tuple[list[dict[str, Any]] | None, DatabaseError | None]:
        """try_fetch, unless the answer was read ahead."""
        if name in self.prefetched:
            return self.prefetched[name]
        return await try_fetch(db, name, params)


def quote(text: str) -> str:
    """A SQL string literal (standard_conforming_strings)."""
    return "'" + text.replace("'", "''") + "'"


def duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def job_label(job: dict[str, Any]) -> str:
    name = job.get("jobname")
    return f"{name} (#{job['jobid']})" if name else f"#{job['jobid']}"


def first_line(message: str | None) -> str:
    return (mask(message) or "").strip().split("\n", 1)[0].strip()


def why_not(error: DatabaseError, facts: ServerFacts) -> str:
    if error.sqlstate == INSUFFICIENT_PRIVILEGE:
        return (f"role {facts.current_user!r} may not read it ({error}); "
                f"a superuser can run: grant usage on schema cron to {facts.current_user}")
    return f"the query failed: {error}"


async def try_fetch(db: Database, name: str, params: Mapping[str, Any] | None = None
                    ) -> tuple[list[dict[str, Any]] | None, DatabaseError | None]:
    try:
        return await db.fetch(name, params), None
    except DatabaseError as exc:
        if exc.lost:
            raise
        return None, exc


async def try_fetch_many(db: Database, reads: list[Read],
                         ) -> list[tuple[list[dict[str, Any]] | None, DatabaseError | None]]:
    """try_fetch of each read, all in one round trip (each alone when one is refused)."""
    from tui.db.insight import read_together

    return [(None, r) if isinstance(r, DatabaseError) else (r, None)
            for r in await read_together(db, reads)]


def scope_note(ctx: Context) -> str:
    return "" if ctx.facts.sees_all else (
        f" (role {ctx.facts.current_user!r} sees only its own jobs)")


#: Said instead of a check that only makes sense on a primary: the standby itself is
#: reported once, by server.primary, with its fix.
ON_STANDBY = "Not checked on a standby: {what} (see server.primary)."


def cannot_read(ctx: Context, name: str) -> Finding | None:
    if ctx.jobs is None:
        return Finding(name, UNKNOWN, f"Could not read cron.job: {ctx.jobs_error}.")
    if ctx.runs_error is not None:
        return Finding(name, UNKNOWN, f"Could not read cron.job_run_details: {ctx.runs_error}.")
    return None


def finished_runs(runs: list[Run]) -> list[Run]:
    return [r for r in runs if r.status in ("succeeded", "failed")]
