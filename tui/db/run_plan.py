"""Before and beside a manual run: a job's runs in progress, where pg_cron would run it
(RunPlan, what the confirmation shows), and cancelling a run in progress."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg

from tui.db.client import Database, DatabaseError
from tui.db.writes import (
    INSUFFICIENT_PRIVILEGE,
    fetch_rows,
    refuse_read_only_mode,
    writable_job,
)
from tui.models import Job

#: Runs of a job still in progress are looked for among this many newest runs (a range scan
#: of the primary key; a run that started before as many others is long stuck anyway).
IN_PROGRESS_LOOKBACK = 100_000

#: Names by which pg_cron's connection reaches the server it runs on (cron.host's default is
#: localhost; a path is a Unix socket directory).
LOCAL_NAMES = frozenset({"", "localhost", "127.0.0.1", "::1"})


def _is_local(name: str | None) -> bool:
    return name is None or name in LOCAL_NAMES or name.startswith(("/", "@", "127."))


def age_text(age: timedelta | None) -> str:
    if age is None:
        return "not started yet"
    seconds = max(int(age.total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    if seconds < 86400:
        return f"{seconds // 3600} h {seconds % 3600 // 60} min"
    return f"{seconds // 86400} d {seconds % 86400 // 3600} h"


@dataclass(frozen=True)
class RunInProgress:
    """A run of a job not finished yet, as cron.job_run_details has it."""

    runid: int
    jobid: int
    job_pid: int | None
    status: str
    start_time: datetime | None
    username: str | None
    database: str | None
    return_message: str | None
    age: timedelta | None
    alive: bool  # a backend with job_pid exists; False for a row a crash left behind

    @property
    def manual(self) -> bool:
        return (self.return_message or "").startswith("manual run by")

    def describe(self) -> str:
        who = "a manual run" if self.manual else "pg_cron's run"
        since = ("not started yet" if self.age is None
                 else f"{self.status} for {age_text(self.age)}")
        pid = f", backend pid {self.job_pid}" if self.job_pid else ""
        gone = "" if self.alive else "; its process is gone (a row left behind by a crash)"
        return f"{who} #{self.runid} ({since}{pid}){gone}"


@dataclass(frozen=True)
class RunTarget:
    """Where a manual run connects: this server (host None), or the job's own node."""

    host: str | None = None
    port: int | None = None
    where: str = "this server"


@dataclass(frozen=True)
class RunPlan:
    """What the confirmation of a manual run shows, read fresh from the server."""

    job: Job
    in_progress: list[RunInProgress]
    target: RunTarget

    @property
    def running(self) -> list[RunInProgress]:
        return [r for r in self.in_progress if r.alive]


async def runs_in_progress(db: Database, jobid: int) -> list[RunInProgress]:
    """The job's unfinished runs, newest first (only its own under row-level security)."""
    rows = await db.fetch("action_runs_in_progress",
                          {"jobid": jobid, "lookback": IN_PROGRESS_LOOKBACK})
    return [RunInProgress(**row) for row in rows]


async def plan_run(db: Database, jobid: int) -> RunPlan:
    """Everything to ask before a manual run: the job as it is now, its runs in progress,
    and where pg_cron would run it. Raises DatabaseError, before anything runs, when this
    session may not write (the run is recorded) or when that place cannot be reached."""
    # One round trip: a bastion host 30 ms away shows the dialog 30 ms after `t`, not 400.
    job, (runs, (where,)) = await writable_job(
        db, jobid,
        ("action_runs_in_progress", {"jobid": jobid, "lookback": IN_PROGRESS_LOOKBACK}),
        ("action_run_target", {"jobid": jobid}))
    return RunPlan(job, [RunInProgress(**r) for r in runs], _target(job, where))


def _target(job: Job, row: dict[str, Any]) -> RunTarget:
    """pg_cron connects to the job's nodename:nodeport unless it uses background workers."""
    workers, name, port = row["use_background_workers"], row["nodename"], row["nodeport"]
    if workers == "on":
        return RunTarget(where="this server (pg_cron runs jobs in background workers)")
    local = _is_local(name) or name == row["cron_host"]
    if local and port == row["port"]:
        return RunTarget()
    node = f"{name}:{port}"
    if workers is None:
        raise DatabaseError(
            f"job {job.label} is stored for {node}, not this server's port {row['port']}, and "
            "this role may not read cron.use_background_workers, so where pg_cron runs it is "
            "unknown: nothing was run; a superuser can grant pg_read_all_settings")
    if local and not _is_local(row["server_addr"]) and row["server_addr"] != "local socket":
        raise DatabaseError(
            f"job {job.label} is stored with nodeport {port} but this server listens on port "
            f"{row['port']}: pg_cron connects to {node} on the server's own host, which cannot "
            "be reached from here; nothing was run: fix the job's nodeport (the doctor, !, "
            "shows how)")
    return RunTarget(host=name or "localhost", port=port,
                     where=f"{node}, the node pg_cron runs it on (cron.job's nodename and "
                           "nodeport)")


@dataclass(frozen=True)
class CancelOutcome:
    cancelled: bool
    message: str


async def cancel_run(db: Database, run: RunInProgress) -> CancelOutcome:
    """Cancel the statement of a run in progress (pg_cron's own or another session's
    manual run) with pg_cancel_backend: pg_cron then records it failed. Refused, with the
    missing privilege named, when this role may not signal the run's backend."""
    refuse_read_only_mode(db)
    if not run.job_pid:
        return CancelOutcome(False, f"run #{run.runid} has no process yet: nothing to cancel")

    async def work(conn: psycopg.AsyncConnection) -> list[dict[str, Any]]:
        return await fetch_rows(conn, "action_cancel_backend", {
            "pid": run.job_pid, "username": run.username, "database": run.database,
            "start": run.start_time})

    async def owner_is_superuser(conn: psycopg.AsyncConnection) -> bool:
        (row,) = await fetch_rows(conn, "action_role_is_superuser", {"username": run.username})
        return bool(row["rolsuper"])

    try:
        rows = await db.with_connection(work)
    except DatabaseError as exc:
        if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
            raise
        if await db.with_connection(owner_is_superuser):
            fix = (f"its role {run.username} is a superuser, and only a superuser may cancel "
                   "a superuser's statement")
        else:
            fix = (f"this role needs pg_signal_backend or membership in {run.username} (a "
                   "superuser can run 'grant pg_signal_backend to <role>')")
        raise DatabaseError(f"may not cancel run #{run.runid}: {exc}; {fix}",
                            sqlstate=INSUFFICIENT_PRIVILEGE) from exc
    if not rows:
        return CancelOutcome(False, f"run #{run.runid}'s process (pid {run.job_pid}) is gone: "
                                    "the run has ended or was left behind by a crash")
    if not rows[0]["cancelled"]:
        return CancelOutcome(False, f"the server could not signal pid {run.job_pid}")
    return CancelOutcome(True, f"cancel sent to run #{run.runid} (pid {run.job_pid}); pg_cron "
                               "records it as failed")
