"""Every profile at once: is it up, is its scheduler alive, what failed, what runs next, does
it match its jobs file. One probe per profile, each with its own deadline, so a slow or dead
server holds up nobody but itself.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from tui import config
from tui.config import ConfigError, Settings
from tui.cron import NextRunCache
from tui.db import ConnectOptions, Database, DatabaseError
from tui.db.client import LOOKBACK_RUNS, require_pg_cron
from tui.format import server_label
from tui.masking import mask
from tui.models import Job, ServerFacts
from tui.plan import diff, jobs_file
from tui.upcoming import next_run


@dataclass(frozen=True)
class Status:
    profile: str
    state: str = "checking"  # checking | up | down (unreachable) | error (reached, unusable)
    read_only: bool = True
    server: str | None = None
    pg_cron: str | None = None
    scheduler_alive: bool | None = None
    failures_24h: int | None = None
    failures_capped: bool = False  # True: only the newest LOOKBACK_RUNS runs were looked at
    next_run: datetime | None = None
    next_job: str | None = None
    jobs: int | None = None
    drift: int | None = None  # changes a plan of the jobs file would make; None: no file
    drift_error: str | None = None
    error: str | None = None
    checked_at: datetime | None = None
    timezone: str | None = None  # the scheduler's, for next runs as the jobs table shows them

    @property
    def reachable(self) -> bool:
        return self.state in ("up", "error")


def fleet_settings(path: str | None, names: Sequence[str]) -> tuple[Settings, list[str]]:
    """The config (no profile applied) and the profiles to show: `names`, else all of them."""
    env = {k: v for k, v in os.environ.items() if k != config.ENV_PROFILE}
    settings = config.load(path, env=env)
    if not settings.profiles:
        where = settings.path or config.default_path()
        raise ConfigError(f"{where}: no profiles: the fleet view lists [profiles.NAME] tables "
                          "(each with a dsn)")
    chosen = list(names) or list(settings.profiles)
    for name in chosen:
        settings.for_profile(name)  # ConfigError naming the known ones
    return settings, list(dict.fromkeys(chosen))


def options_for(settings: Settings, name: str) -> tuple[ConnectOptions, Settings]:
    """How to connect to profile `name`, and the settings that apply there."""
    chosen = settings.for_profile(name)
    assert chosen.profile is not None
    opts = ConnectOptions(dbname=chosen.profile.dsn, read_only=chosen.read_only,
                          statement_timeout_ms=chosen.statement_timeout_ms)
    return opts, chosen


async def probe(settings: Settings, name: str, timeout: float | None = None) -> Status:
    """One profile's status, within `timeout` seconds (the config's fleet_timeout)."""
    timeout = timeout or settings.fleet_timeout
    opts, chosen = options_for(settings, name)
    opts = replace(opts, connect_timeout_s=max(2, int(timeout)),
                   statement_timeout_ms=min(opts.statement_timeout_ms, int(timeout * 1000)))
    db = Database(opts)
    base = Status(profile=name, read_only=chosen.read_only)
    try:
        return await asyncio.wait_for(_probe(db, chosen, base), timeout)
    except (TimeoutError, asyncio.TimeoutError):
        return replace(base, state="down", error=f"no answer within {timeout:g} s")
    except DatabaseError as exc:
        return replace(base, state="down" if exc.lost else "error", error=mask(str(exc)))
    finally:
        await db.close()


async def _probe(db: Database, settings: Settings, base: Status) -> Status:
    facts = await db.facts()
    status = replace(base, state="error", server=server_label(facts),
                     pg_cron=facts.pg_cron_minor, checked_at=facts.now,
                     timezone=facts.scheduler_timezone,
                     scheduler_alive=facts.scheduler_alive)
    try:
        require_pg_cron(facts)
    except DatabaseError as exc:
        return replace(status, error=str(exc))
    jobs = await db.jobs(indexed=facts.has_run_index)
    # Failures in the last 24 hours among the newest LOOKBACK_RUNS runs only: bounded.
    (row,) = await db.fetch("fleet_failures", {"lookback": LOOKBACK_RUNS})
    status = replace(status, state="up", jobs=len(jobs), failures_24h=int(row["failures"]))
    status = _next(status, jobs, facts)
    if settings.jobs_file is not None:
        status = _drift(status, settings, jobs, facts)
    return status


def _next(status: Status, jobs: Sequence[Job], facts: ServerFacts) -> Status:
    cache = NextRunCache()
    upcoming = [(when, job) for job in jobs
                if (when := next_run(job, facts, cache)) is not None]
    if not upcoming:
        return status
    when, job = min(upcoming, key=lambda pair: pair[0])
    return replace(status, next_run=when, next_job=job.label)


def _drift(status: Status, settings: Settings, jobs: Sequence[Job], facts: ServerFacts
           ) -> Status:
    assert settings.jobs_file is not None
    try:
        spec = jobs_file.load(settings.jobs_file)
    except jobs_file.JobsFileError as exc:
        return replace(status, drift_error=str(exc))
    plan = diff(spec, jobs, facts)
    if plan.errors:
        return replace(status, drift_error="; ".join(plan.errors))
    return replace(status, drift=len(plan.items))
