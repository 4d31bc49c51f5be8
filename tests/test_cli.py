"""The headless subcommands, run as a script would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone

import pytest

from tests.conftest import Cluster
from tui.masking import MASK

JOB_KEYS = {"jobid", "jobname", "schedule", "command", "database", "username", "active",
            "next_run", "last_status", "last_start", "last_run_known", "warnings", "problem"}
RUN_KEYS = {"runid", "jobid", "jobname", "status", "return_message", "start_time", "end_time"}


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, timeout=60, env={**os.environ, **(env or {})})


#: libpq's fallbacks pointed at nothing, so only the options given can reach the cluster.
NOWHERE = {"PGHOST": "/nonexistent", "PGPORT": "1", "PGDATABASE": "nowhere", "PGUSER": "nobody"}


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
    # pg_net's answer (tui/outcome) and the start lag (tui/insight/lag) come with --json.
    assert set(run) == RUN_KEYS | {"http_status", "http_error", "http_note", "lag_s"}
    assert (run["http_status"], run["http_error"], run["http_note"]) == (None, None, None)
    assert run["jobname"] == "daily-usage-rollup" and run["status"] == "failed"
    assert "hunter2" not in done.stdout and "\x1b" not in done.stdout
    assert run["return_message"].startswith("ERROR: \x1b[31mred")  # escaped in JSON, intact


def test_runs_unknown_job_is_a_clear_error(cluster: Cluster) -> None:
    done = cli("runs", "-d", cluster.conninfo, "--job", "no-such-job")
    assert done.returncode == 2
    assert "no job named 'no-such-job'" in done.stderr and "Traceback" not in done.stderr


def test_unreachable_server_is_a_clear_error() -> None:
    done = cli("jobs", "-h", "127.0.0.1", "-p", "1", "-U", "ops", "-d", "postgres")
    assert done.returncode == 2
    # It never connected: nothing was "lost", and the operator sees which server was tried.
    assert done.stderr.startswith("cronjobs-tui: could not connect to ops@127.0.0.1:1/postgres: ")
    assert "Traceback" not in done.stderr


def test_connection_options_before_the_subcommand(cluster: Cluster) -> None:
    port = str(cluster.sandbox.port)
    env = {**NOWHERE, "PGPASSFILE": str(cluster.sandbox.passfile)}  # as a psql user has it
    # As the usage line puts them: before the subcommand, psql style.
    done = cli("-h", "127.0.0.1", "-p", port, "-U", "postgres", "-d", "postgres", "jobs",
               "--json", env=env)
    assert done.returncode == 0, done.stderr
    names = {j["jobname"] for j in json.loads(done.stdout)}
    assert {"weekly-adapter-check", "daily-usage-rollup"} <= names
    # Split across both sides, the later value of an option wins as in any getopt tool.
    done = cli("-h", "127.0.0.1", "-U", "postgres", "runs", "--json", "-p", port,
               "-d", "postgres", "--limit", "1", env=env)
    assert done.returncode == 0, done.stderr
    done = cli("-h", "127.0.0.1", "-p", "1", "-d", "postgres", "-U", "ops", "doctor", "-p", port,
               "-U", "postgres", "--json", env=env)
    assert json.loads(done.stdout)["findings"], done.stderr


def test_first_connection_failure_names_the_target_given_before_the_subcommand() -> None:
    done = cli("-h", "db.invalid", "-p", "6543", "-U", "ops", "-d", "billing", "runs",
               env=NOWHERE)
    assert done.returncode == 2
    assert "could not connect to ops@db.invalid:6543/billing" in done.stderr
    assert "connection lost" not in done.stderr


@pytest.mark.smoke  # demo (its cluster is the tests')
def test_demo_offers_only_the_options_it_uses() -> None:
    done = cli("demo", "--help")
    assert done.returncode == 0
    assert "--print-dsn" in done.stdout and "--config" in done.stdout
    for option in ("--host", "--dbname", "--port", "--username", "--profile", "--read-only"):
        assert option not in done.stdout
    # Given before the subcommand they would be silently ignored: say so instead.
    done = cli("-h", "db.example.com", "demo", "--print-dsn")
    assert done.returncode == 2
    assert "demo starts its own cluster and takes no -h" in done.stderr


def test_unknown_enumerated_values_exit_2_listing_the_valid_ones() -> None:
    # `failure` for `failed` must not print an empty table and exit 0: a false all-clear.
    done = cli("runs", "--status", "failure", env=NOWHERE)
    assert done.returncode == 2 and done.stdout == ""
    assert "invalid choice: 'failure'" in done.stderr
    for status in ("starting", "running", "succeeded", "failed"):
        assert f"'{status}'" in done.stderr
    done = cli("runs", "--format", "xlsx", env=NOWHERE)
    assert done.returncode == 2 and "'csv'" in done.stderr
    done = cli("runs", "--limit", "0", env=NOWHERE)
    assert done.returncode == 2 and "--limit" in done.stderr
    done = cli("schedule", "0 3 * * *", "--pg-cron", "1.7")
    assert done.returncode == 2 and "'1.6'" in done.stderr


def test_wrong_database_names_the_right_one(cluster: Cluster) -> None:
    cluster.sql("create database elsewhere") if not cluster.value(
        "select 1 from pg_database where datname = 'elsewhere'") else None
    done = cli("jobs", "-d", cluster.sandbox.conninfo(dbname="elsewhere"))
    assert done.returncode == 2
    assert "pg_cron keeps its jobs in database 'postgres'" in done.stderr


def _server_error(cluster: Cluster, command: str) -> str:
    """What PostgreSQL itself says when `command` runs: the text pg_cron records."""
    import psycopg

    with cluster.connect() as conn:
        try:
            conn.execute(command)
        except psycopg.Error as exc:
            return f"ERROR:  {exc.diag.message_primary}"
    raise AssertionError(f"{command!r} did not fail")


def test_doctor_warns_of_jobs_that_cannot_succeed_as_written(cluster: Cluster) -> None:
    never = "0 0 31 2 *"
    command = "select public.rollup_weekly_usage()"
    jobid = cluster.value("select cron.schedule('weekly-usage-rollup', %s, %s)", [never, command])
    cluster.sql("drop database if exists reporting_2019")
    cluster.sql("create database reporting_2019")
    gone = cluster.value("select cron.schedule_in_database('reporting-2019-vacuum', %s, "
                         "'vacuum analyze', 'reporting_2019')", [never])
    cluster.sql("drop database reporting_2019")
    try:
        cluster.sql(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
            "command, status, return_message, start_time, end_time) values (%s, "
            "nextval('cron.runid_seq'), 4711, 'postgres', 'postgres', %s, 'failed', %s, "
            "now() - interval '1 day', now() - interval '1 day')",
            [jobid, command, _server_error(cluster, command)])
        done = cli("doctor", "--json", "-d", cluster.conninfo)
        assert done.returncode == 1, done.stderr
        found = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
        broken = found["jobs.broken"]
        assert broken["status"] == "warning"
        details = "\n".join(broken["details"])
        # Before any run: the seed's HTTP job with no pg_net where it runs.
        assert "weekly-adapter-check" in details and 'schema "net" does not exist' in details
        assert "create extension pg_net;" in broken["fix"]
        # A run failed once for want of a function (the failing streak needs three).
        assert f"weekly-usage-rollup (#{jobid}): its latest run failed: ERROR:  function " \
               "public.rollup_weekly_usage() does not exist" in details
        assert "create the function public.rollup_weekly_usage()" in broken["fix"]
        assert f"reporting-2019-vacuum (#{gone}): its database 'reporting_2019' does not " \
               "exist" in details
        assert f"select cron.alter_job({gone}, database := 'postgres');" in broken["fix"]
        # Once a later run succeeds, the job is no longer reported.
        cluster.sql(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
            "command, status, return_message, start_time, end_time) values (%s, "
            "nextval('cron.runid_seq'), 4712, 'postgres', 'postgres', %s, 'succeeded', "
            "'1 row', now(), now())", [jobid, command])
        done = cli("doctor", "--json", "-d", cluster.conninfo)
        found = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
        assert "weekly-usage-rollup" not in "\n".join(found["jobs.broken"]["details"])
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)",
                    [[jobid, gone]])


def test_doctor_wraps_under_its_own_indent(cluster: Cluster) -> None:
    import asyncio

    from tui.db import ConnectOptions, Database
    from tui.doctor import render, run_checks

    async def findings():  # type: ignore[no-untyped-def]
        db = Database(ConnectOptions(dbname=cluster.conninfo))
        try:
            return await run_checks(db)
        finally:
            await db.close()

    text = render(asyncio.run(findings()), 80)
    lines = text.splitlines()
    assert all(len(line) <= 80 for line in lines), max(lines, key=len)
    for before, line in zip(lines, lines[1:]):
        if not line.startswith(("ok ", "WARNING ", "PROBLEM ", "unknown ")):
            assert line.startswith("          "), (before, line)  # under the check, not col 0
    size = text[text.index("history.size"):].split("\nok")[0]
    assert "never vacuumed" not in size
    assert "rows" in size
