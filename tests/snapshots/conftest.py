"""A cluster with fixed data and a pinned clock, so the pictures hold still.

Always pg_cron 1.4 on PostgreSQL 15 (the host's on Debian 12, the chroot's on 13), on a
fixed port, with jobs and runs created in a fixed order. Only the clock the screen reads
is pinned (CronJobsApp.observe); everything else comes from the real server.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.conftest import INSTALLATIONS
from tui.audit import AuditLog
from tui.config import Settings
from tui.db import ConnectOptions
from tui.lab import seed
from tui.lab.sandbox import throwaway
from tui.models import ServerFacts
from tui.ui.app import CronJobsApp

FROZEN_NOW = datetime(2026, 11, 28, 21, 30, tzinfo=timezone.utc)  # a Saturday evening
PORT = 54329

RUNS = [  # (job, status, message, start, seconds)
    ("weekly-adapter-check", "failed", 'ERROR:  schema "net" does not exist',
     "2026-11-22 03:00:00", 0.004),
    ("daily-usage-rollup", "succeeded", "1 row", "2026-11-27 00:05:00", 1.84),
    ("daily-usage-rollup", "succeeded", "1 row", "2026-11-28 00:05:00", 2.31),
    ("report-refresh", "succeeded", "REFRESH MATERIALIZED VIEW", "2026-11-28 21:00:00", 12.5),
    ("report-refresh", "failed", "ERROR:  canceling statement due to statement timeout",
     "2026-11-28 21:10:00", 60.0),
    ("report-refresh", "succeeded", "REFRESH MATERIALIZED VIEW", "2026-11-28 21:20:00", 11.9),
    ("purge-run-history", "running", None, "2026-11-28 21:29:40", None),
]


@pytest.fixture(scope="session")
def snap_conninfo() -> Iterator[str]:
    install = next((i for i in INSTALLATIONS if i.major == 15), None)
    if install is None:
        pytest.skip("snapshots are taken on PostgreSQL 15 + pg_cron 1.4 (bash .ci/setup --test)")
    sb = throwaway(install, port=PORT)
    try:  # a server left running would hold the fixed port for the next session
        sb.start()
        sb.wait_ready()
        with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
            seed.install(conn, functions_url="https://example.supabase.co/functions/v1",
                         service_key="eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZSJ9.snapshot-key")
            conn.execute("select cron.schedule('report-refresh', '*/10 * * * *', "
                         "'refresh materialized view concurrently public.daily_report')")
            conn.execute("select cron.alter_job(3, active := false)")
            conn.execute("select cron.schedule('purge-run-history', '0 4 * * *', "
                         "$$delete from cron.job_run_details where end_time < now() - "
                         "interval '7 days'$$)")
            for job, status, message, start, seconds in RUNS:
                conn.execute(
                    "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
                    "command, status, return_message, start_time, end_time) "
                    # The running one's backend alive (the checkpointer stands in): running,
                    # not orphaned (tui/rules.py).
                    "select jobid, nextval('cron.runid_seq'), (select pid from pg_stat_activity "
                    "where backend_type = 'checkpointer'), database, username, command, "
                    "%s, %s, %s::timestamptz, %s::timestamptz + make_interval(secs => %s) "
                    "from cron.job where jobname = %s",
                    [status, message, start + "+00", start + "+00", seconds or 0, job])
            conn.execute("update cron.job_run_details set end_time = null where status = 'running'")
            conn.execute("analyze cron.job_run_details")  # the estimate maintenance shows
        yield sb.conninfo()
    finally:
        sb.destroy()


#: The audit log the pictures show: a fixed path (its title names it), entries at fixed times.
AUDIT_PATH = Path("/tmp/cronjobs-tui-snapshots/audit.jsonl")


def write_audit(server: str) -> None:
    """One entry of each kind the view words differently, on `server` (the app's label)."""
    job = {"jobid": 2, "jobname": "daily-usage-rollup", "schedule": "5 0 * * *",
           "command": "select public.rollup_tts_usage()", "database": "postgres",
           "username": "postgres", "active": True}
    entries = [
        ("2026-11-28T20:01:07", "create", job["jobname"], None, job, "ok", None),
        ("2026-11-28T20:05:12", "edit", job["jobname"], job, {**job, "schedule": "10 0 * * *"},
         "ok", None),
        ("2026-11-28T20:06:40", "trigger", job["jobname"], job, None, "succeeded",
         "recorded, as postgres, on this session's server, time limit: none beyond the "
         "server's own statement_timeout; manual run by postgres: 1 row"),
        ("2026-11-28T20:09:03", "pause", job["jobname"], job, {**job, "active": False}, "ok",
         None),
        ("2026-11-28T20:15:55", "delete", "report-refresh", {**job, "jobid": 3,
         "jobname": "report-refresh", "schedule": "*/10 * * * *"}, None, "ok", None),
    ]
    AUDIT_PATH.parent.mkdir(parents=True, exist_ok=True)
    with AUDIT_PATH.open("w", encoding="utf-8") as out:
        for at, action, name, before, after, outcome, detail in entries:
            out.write(json.dumps({"at": at + "+00:00", "os_user": "operator",
                                  "role": "postgres", "server": server, "action": action,
                                  "job": name, "before": before, "after": after,
                                  "outcome": outcome, "detail": detail}) + "\n")


class PinnedApp(CronJobsApp):
    """The real app with the clock pinned (and the patch release, which Debian updates)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.audit = AuditLog(AUDIT_PATH)

    def observe(self, facts: ServerFacts) -> ServerFacts:
        return replace(facts, now=FROZEN_NOW, server_version="15")


def pinned_app(conninfo: str, *, read_only: bool = False) -> PinnedApp:
    # A refresh interval longer than any test: the picture is of the first refresh.
    return PinnedApp(ConnectOptions(dbname=conninfo, read_only=read_only),
                     Settings(refresh_interval=3600))
