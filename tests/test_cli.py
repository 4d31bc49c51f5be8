"""The headless subcommands, run as a script would run them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from tests.conftest import Cluster
from tui.secrets import MASK

JOB_KEYS = {"jobid", "jobname", "schedule", "command", "database", "username", "active",
            "next_run", "last_status", "last_start"}
RUN_KEYS = {"runid", "jobid", "jobname", "status", "return_message", "start_time", "end_time"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, timeout=60)


def next_sunday_3am(now: datetime) -> datetime:
    day = now.astimezone(timezone.utc).replace(hour=3, minute=0, second=0, microsecond=0)
    day += timedelta(days=(6 - day.weekday()) % 7)  # weekday(): Sunday is 6
    return day if day > now else day + timedelta(days=7)


def next_0005(now: datetime) -> datetime:
    day = now.astimezone(timezone.utc).replace(hour=0, minute=5, second=0, microsecond=0)
    return day if day > now else day + timedelta(days=1)


def test_jobs_json(cluster: Cluster) -> None:
    done = cli("jobs", "--json", "-d", cluster.conninfo)
    assert done.returncode == 0, done.stderr
    now = cluster.value("select now()")
    jobs = {j["jobname"]: j for j in json.loads(done.stdout)}
    assert all(set(j) == JOB_KEYS for j in jobs.values())
    weekly, daily = jobs["weekly-adapter-check"], jobs["daily-usage-rollup"]
    assert datetime.fromisoformat(weekly["next_run"]) == next_sunday_3am(now)
    assert datetime.fromisoformat(daily["next_run"]) == next_0005(now)
    assert weekly["next_run"].endswith("+00:00")
    assert weekly["schedule"] == "0 3 * * SUN" and weekly["active"] is True
    # The service key never leaves the database unmasked.
    assert cluster.service_key not in done.stdout
    assert f"'Bearer {MASK}'" in weekly["command"]


def test_runs_json_filters(cluster: Cluster) -> None:
    jobid = cluster.value("select jobid from cron.job where jobname = 'daily-usage-rollup'")
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) values "
        "(%s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'x', 'failed', "
        "'ERROR: \x1b[31mred\x1b[0m password=hunter2', now(), now())", [jobid])
    done = cli("runs", "--json", "-d", cluster.conninfo, "--job", "daily-usage-rollup",
               "--status", "failed", "--limit", "1")
    assert done.returncode == 0, done.stderr
    (run,) = json.loads(done.stdout)
    assert set(run) == RUN_KEYS
    assert run["jobname"] == "daily-usage-rollup" and run["status"] == "failed"
    assert "hunter2" not in done.stdout and "\x1b" not in done.stdout
    assert run["return_message"].startswith("ERROR: \x1b[31mred")  # escaped in JSON, intact


def test_runs_unknown_job_is_a_clear_error(cluster: Cluster) -> None:
    done = cli("runs", "-d", cluster.conninfo, "--job", "no-such-job")
    assert done.returncode == 2
    assert "no job named 'no-such-job'" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_server_is_a_clear_error() -> None:
    done = cli("jobs", "-h", "127.0.0.1", "-p", "1", "-d", "postgres")
    assert done.returncode == 2
    assert done.stderr.startswith("cronjobs-tui: connection lost")
    assert "Traceback" not in done.stderr


def test_wrong_database_names_the_right_one(cluster: Cluster) -> None:
    cluster.sql("create database elsewhere") if not cluster.value(
        "select 1 from pg_database where datname = 'elsewhere'") else None
    done = cli("jobs", "-d", cluster.sandbox.conninfo(dbname="elsewhere"))
    assert done.returncode == 2
    assert "pg_cron keeps its jobs in database 'postgres'" in done.stderr
