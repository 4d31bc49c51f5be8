"""`cronjobs-tui doctor`: each fault provoked for real on a real server, then diagnosed."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from tests.conftest import Cluster, start_cluster
from tui.db import ConnectOptions, Database
from tui.doctor import CHECKS, INDEX, PURGE, Finding, Limits, exit_code, run_checks
from tui.lab.sandbox import free_port
from tui.masking import MASK

FINDING_KEYS = {"check", "status", "summary", "fix", "details"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "doctor", *args], capture_output=True,
                          text=True, timeout=60)


async def diagnose(conninfo: str, limits: Limits | None = None) -> dict[str, Finding]:
    db = Database(ConnectOptions(dbname=conninfo))
    try:
        findings = await run_checks(db, limits)
    finally:
        await db.close()
    assert [f.check for f in findings] == list(CHECKS)
    return {f.check: f for f in findings}


@pytest.fixture(scope="module")
def quiet(cluster: Cluster) -> Iterator[Cluster]:
    """A cluster whose pg_cron is created but not preloaded: no scheduler, so nothing runs and
    the history holds exactly what a test writes. (Created while preloaded: `create extension
    pg_cron` refuses to load the library otherwise.)"""
    c = start_cluster(cluster.sandbox.install)
    c.sandbox.stop()
    c.sandbox.settings["shared_preload_libraries"] = "''"
    c.sandbox.start()
    c.sandbox.wait_ready()
    yield c
    c.sandbox.destroy()


def add_job(c: Cluster, name: str, schedule: str, *, active: bool = True,
            username: str = "postgres") -> int:
    """A job row as cron.schedule writes it. Without the library loaded, its cache trigger
    (a C function) cannot run, so triggers are skipped as a replica would."""
    with c.connect() as conn:
        conn.execute("set session_replication_role = replica")
        port = conn.execute("select current_setting('port')::int").fetchone()[0]  # type: ignore[index]
        return conn.execute(
            "insert into cron.job (schedule, command, nodename, nodeport, database, username, "
            "active, jobname) values (%s, 'select 1', %s, %s, 'postgres', %s, %s, %s) "
            "returning jobid",
            [schedule, str(c.sandbox.datadir), port, username, active, name]).fetchone()[0]  # type: ignore[index]


def add_run(c: Cluster, jobid: int, status: str, started_ago_s: float | None,
            duration_s: float | None = 1, message: str | None = None, pid: int = 1) -> int:
    """A run row as pg_cron writes it (start/end relative to the server's now())."""
    finished = status in ("succeeded", "failed")
    return c.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) values (%s, nextval('cron.runid_seq'), "
        "%s, 'postgres', 'postgres', 'select 1', %s, %s, now() - make_interval(secs => %s), "
        "case when %s then now() - make_interval(secs => %s) + make_interval(secs => %s) end) "
        "returning runid",
        [jobid, pid, status, message or ("1 row" if status == "succeeded" else None),
         started_ago_s, finished, started_ago_s, duration_s or 0])


def clear(c: Cluster, *jobids: int) -> None:
    with c.connect() as conn:
        conn.execute("set session_replication_role = replica")
        conn.execute("delete from cron.job_run_details where jobid = any(%s)", [list(jobids)])
        conn.execute("delete from cron.job where jobid = any(%s)", [list(jobids)])


# -- a healthy server, and the CLI ---------------------------------------------------------

async def test_healthy_server(cluster: Cluster) -> None:
    found = await diagnose(cluster.conninfo)
    for check in ("pg_cron.installed", "pg_cron.database", "pg_cron.preload",
                  "scheduler.running", "server.primary", "jobs.owner", "jobs.node"):
        assert found[check].status == "ok", found[check]
    assert "launcher is running" in found["scheduler.running"].summary


def test_cli_other_database_json_and_exit_codes(cluster: Cluster) -> None:
    cluster.sql("drop database if exists doctor_elsewhere")
    cluster.sql("create database doctor_elsewhere")
    try:
        done = cli("--json", "-d", cluster.sandbox.conninfo("doctor_elsewhere"))
        assert done.returncode == 1, done.stderr
        report = json.loads(done.stdout)
        assert set(report) == {"ok", "summary", "findings"} and report["ok"] is False
        assert all(set(f) == FINDING_KEYS for f in report["findings"])
        # The findings in CHECKS order, as before; the summary counts them.
        assert [f["check"] for f in report["findings"]] == list(CHECKS)
        statuses = [f["status"] for f in report["findings"]]
        summary = report["summary"]
        assert {k: summary[k] for k in ("problem", "warning", "unknown", "ok")} == {
            k: statuses.count(k) for k in ("problem", "warning", "unknown", "ok")}
        assert summary["text"].startswith(f"{summary['warning']} warning")
        found = {f["check"]: f for f in report["findings"]}
        assert found["pg_cron.database"]["status"] == "problem"
        assert "'postgres'" in found["pg_cron.database"]["summary"]
        assert found["pg_cron.database"]["fix"] == "connect with -d postgres"
        assert found["jobs.failing"]["status"] == "unknown"

        human = cli("-d", cluster.sandbox.conninfo("doctor_elsewhere"))
        assert human.returncode == 1
        # Worst first, under the summary line.
        lines = human.stdout.splitlines()
        assert lines[0] == summary["text"]
        marks = [line.split()[0] for line in lines[1:] if line and not line.startswith(" ")]
        rank = {"PROBLEM": 0, "WARNING": 1, "unknown": 2, "ok": 3}
        assert [rank[m] for m in marks] == sorted(rank[m] for m in marks)
        assert len(marks) == len(CHECKS) and marks[0] == "PROBLEM"
        assert any(line.startswith("PROBLEM  pg_cron.database")
                   for line in human.stdout.splitlines())
        assert "fix: connect with -d postgres" in human.stdout
    finally:
        cluster.sql("drop database doctor_elsewhere")

    # Nobody listens there: a connection error is exit code 2, not a finding.
    down = cli("--json", "-d", f"host=127.0.0.1 port={free_port()} dbname=postgres "
                               "user=postgres connect_timeout=2")
    assert down.returncode == 2 and down.stdout == ""


# -- the scheduler ---------------------------------------------------------------------

async def test_no_preload_no_scheduler(quiet: Cluster) -> None:
    found = await diagnose(quiet.conninfo)
    assert found["pg_cron.preload"].status == "problem"
    assert "shared_preload_libraries = 'pg_cron'" in (found["pg_cron.preload"].fix or "")
    assert found["scheduler.running"].status == "problem"
    assert "shared_preload_libraries" in (found["scheduler.running"].fix or "")
    assert exit_code(list(found.values())) == 1


# -- stuck, missed and failing runs -----------------------------------------------------

@pytest.mark.parametrize("indexed", [False, True], ids=["lookback", "indexed"])
async def test_run_faults(quiet: Cluster, indexed: bool) -> None:
    if indexed:
        quiet.sql(INDEX.replace("concurrently ", ""))
    stuck = add_job(quiet, "doctor-stuck", "0 0 1 1 *")
    slow = add_job(quiet, "doctor-slow", "0 0 1 1 *")
    missed = add_job(quiet, "doctor-missed", "* * * * *")
    punctual = add_job(quiet, "doctor-punctual", "* * * * *")
    never = add_job(quiet, "doctor-never-ran", "* * * * *")
    paused = add_job(quiet, "doctor-paused", "* * * * *", active=False)
    failing = add_job(quiet, "doctor-failing", "0 0 1 1 *")
    recovered = add_job(quiet, "doctor-recovered", "0 0 1 1 *")
    ids = [stuck, slow, missed, punctual, never, paused, failing, recovered]
    try:
        for k in range(5):
            add_run(quiet, stuck, "succeeded", 3600 + k * 60, 2)
            add_run(quiet, slow, "succeeded", 7200 + k * 600, 200)
        # Running for 30 min where runs take 2 s, its backend alive (the checkpointer's pid
        # stands in for it): stuck (tui/rules.py: after max(5 min, 5 x p95)). 20 min where
        # they take 200 s, and its backend gone: orphaned, not stuck.
        live = quiet.value("select pid from pg_stat_activity where backend_type = 'checkpointer'")
        stuck_run = add_run(quiet, stuck, "running", 1800, None, pid=live)
        orphan_run = add_run(quiet, slow, "running", 1200, None, pid=999_998)

        add_run(quiet, missed, "succeeded", 600)  # then nothing for ten minutes
        now = quiet.value("select date_trunc('minute', now())")
        for k in range(12):  # one run a second after each of the last 12 minute marks
            quiet.sql("insert into cron.job_run_details (jobid, runid, job_pid, database, "
                      "username, command, status, return_message, start_time, end_time) values "
                      "(%s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', "
                      "'succeeded', '1 row', %s::timestamptz - make_interval(mins => %s, "
                      "secs => -1), %s::timestamptz - make_interval(mins => %s, secs => -2))",
                      [punctual, now, k, now, k])
        add_run(quiet, paused, "succeeded", 3600)

        add_run(quiet, failing, "succeeded", 500)
        for k in range(3):
            add_run(quiet, failing, "failed", 400 - k * 100,
                    message=f"ERROR:  boom {k} password=hunter2\nCONTEXT:  line 2")
        add_run(quiet, recovered, "failed", 300, message="ERROR:  x")
        add_run(quiet, recovered, "failed", 200, message="ERROR:  x")
        add_run(quiet, recovered, "succeeded", 100)

        found = await diagnose(quiet.conninfo)

        f = found["runs.stuck"]
        assert f.status == "problem", f
        assert len(f.details) == 1 and "doctor-stuck" in f.details[0], f.details
        assert (f"run {stuck_run} 'running' for 30 min (usually 2.00 s, p95 2.00 s; stuck after "
                f"5 min); backend pid {live}") in f.details[0], f.details
        assert f"select pg_cancel_backend({live});" in (f.fix or "")

        f = found["runs.orphaned"]
        assert f.status == "problem", f
        (line,) = f.details
        assert f"doctor-slow (#{slow}): run {orphan_run} 'running' for 20 min" in line, line
        assert "its backend (pid 999998) is gone" in line
        assert f"where runid = {orphan_run};" in (f.fix or "")

        # No launcher runs here: the times doctor-missed has no run for are unknown, not
        # missed (tui/rules.py); scheduler.running is the finding. A real missed time:
        # test_a_time_the_running_scheduler_skipped_is_missed.
        f = found["runs.missed"]
        assert f.status == "ok", f
        assert not f.details
        assert "unknown, not missed" in f.summary and "scheduler down" in f.summary, f
        assert "without a recorded run" in f.summary  # doctor-never-ran: no creation time

        f = found["jobs.failing"]
        assert f.status == "problem", f
        (line,) = f.details
        assert "doctor-failing" in line and "last 3 finished runs failed" in line
        assert f"ERROR:  boom 2 password={MASK}" in line and "hunter2" not in line
        assert "CONTEXT" not in line
        assert f"select cron.alter_job({failing}, active := false);" in (f.fix or "")

        # The human output shows the same, inert and masked.
        human = cli("-d", quiet.conninfo)
        assert human.returncode == 1
        assert "hunter2" not in human.stdout
        assert "PROBLEM  runs.stuck" in human.stdout
    finally:
        clear(quiet, *ids)
        if indexed:
            quiet.sql("drop index cron.job_run_details_jobid_runid_idx")


async def test_missed_runs_count_from_scheduler_start(fresh_cluster: Cluster) -> None:
    """Runs missed while the server was down are never caught up: not a finding."""
    jobid = fresh_cluster.value("select cron.schedule('doctor-every-minute', '* * * * *', "
                                "'select 1')")
    add_run(fresh_cluster, jobid, "succeeded", 1200)  # before this start of the scheduler
    found = await diagnose(fresh_cluster.conninfo)
    f = found["runs.missed"]
    assert f.status == "ok", f
    assert "unknown, not missed (" in f.summary and "scheduler down" in f.summary, f


async def test_a_time_the_running_scheduler_skipped_is_missed(cluster: Cluster) -> None:
    """A job the running launcher does not know of (written without the trigger that tells
    it), with a run before: the times since are missed, as `explain` says too."""
    launcher_start = cluster.value("select backend_start from pg_stat_activity "
                                   "where backend_type = 'pg_cron launcher'")
    # Times judged: after the launcher started, and 90 s old (the tolerance).
    while cluster.value("select now() - %s < interval '200 seconds'", [launcher_start]):
        time.sleep(1)
    jobid = add_job(cluster, "doctor-skipped", "* * * * *")
    try:
        first = cluster.value("select greatest(date_trunc('minute', now()) - interval '5 min', "
                              "date_trunc('minute', %s) + interval '1 min')", [launcher_start])
        cluster.sql("insert into cron.job_run_details (jobid, runid, job_pid, database, "
                    "username, command, status, return_message, start_time, end_time) values "
                    "(%s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', "
                    "'succeeded', '1 row', %s + interval '1 s', %s + interval '2 s')",
                    [jobid, first, first])
        found = await diagnose(cluster.conninfo)
        f = found["runs.missed"]
        assert f.status in ("warning", "problem"), f
        (line,) = [d for d in f.details if "doctor-skipped" in d]
        assert " missed " in line
        out = subprocess.run([sys.executable, "-m", "tui", "explain", "doctor-skipped", "--json",
                              "-d", cluster.conninfo], capture_output=True, text=True,
                             timeout=60)
        rows = json.loads(out.stdout)
        missed = [r for r in rows if r["missed"]]
        count = int(line.split(": missed ")[1].split(" ")[0])
        assert missed and len(missed) >= count, (rows, line)
    finally:
        clear(cluster, jobid)


# -- jobs of dropped roles ------------------------------------------------------------------

async def test_job_of_dropped_role(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    c.sql("create role doctor_doomed login")
    jobid = c.value("select cron.schedule_in_database('doctor-orphan', '0 0 1 1 *', "
                    "'select 1', 'postgres', 'doctor_doomed')")
    c.sql("drop role doctor_doomed")  # cron.job.username is text: nothing stops this
    found = await diagnose(c.conninfo)
    f = found["jobs.owner"]
    assert f.status == "problem", f
    assert "'doctor_doomed'" in f.details[0] and f"#{jobid}" in f.details[0]

    # pg_cron #399, for real: at start the launcher meets the job and dies, again and again.
    c.sandbox.stop()
    c.sandbox.start()
    c.sandbox.wait_ready()
    time.sleep(1.5)
    log = (c.sandbox.host_datadir / "server.log").read_text()
    assert 'role "doctor_doomed" does not exist' in log
    seen = [(await diagnose(c.conninfo))["scheduler.running"] for _ in range(3)]
    down = [s for s in seen if s.status == "problem"]
    assert down, seen  # it lives for milliseconds a second: at least one look misses it
    assert "jobs.owner" in (down[0].fix or "")

    # The finding's fix, run as written, brings the scheduler back.
    c.sql(f"select cron.alter_job({jobid}, username := 'postgres')")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = await diagnose(c.conninfo)
        if found["scheduler.running"].status == "ok":
            break
        time.sleep(0.5)
    assert found["scheduler.running"].status == "ok", found["scheduler.running"]
    assert found["jobs.owner"].status == "ok"


# -- jobs pointed at another port ---------------------------------------------------------

@pytest.mark.realtime  # pg_cron 1.4 runs it on the next minute
async def test_job_on_a_stale_port_fails_for_real(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    every = "1 seconds" if c.pg_cron != "1.4" else "* * * * *"
    jobid = c.value("select cron.schedule('doctor-port', %s, 'select 1')", [every])
    port = c.value("select current_setting('port')::int")
    found = await diagnose(c.conninfo)
    assert found["jobs.node"].status == "ok"

    # As after a port change: the job keeps the port it was scheduled with.
    c.sql("update cron.job set nodeport = %s where jobid = %s", [free_port(), jobid])
    deadline = time.monotonic() + 75
    while time.monotonic() < deadline:
        message = c.value("select return_message from cron.job_run_details where jobid = %s "
                          "and status = 'failed' order by runid desc limit 1", [jobid])
        if message:
            break
        time.sleep(1)
    assert message and "connection failed" in message, message

    f = (await diagnose(c.conninfo))["jobs.node"]
    assert f.status == "problem", f
    fix = f"update cron.job set nodeport = {port} where jobid in ({jobid});"  # noqa: S608
    assert fix in (f.fix or "")
    assert "connection failed" in f.details[0]

    if c.pg_cron != "1.4":  # with a run each second, the fix can be seen to work
        c.sql(f.fix.split("\n", 1)[1])  # type: ignore[union-attr]
        last = c.value("select max(runid) from cron.job_run_details where jobid = %s", [jobid])
        deadline = time.monotonic() + 20
        status = None
        while time.monotonic() < deadline and status != "succeeded":
            status = c.value("select status from cron.job_run_details where jobid = %s "
                             "and runid > %s and status in ('succeeded', 'failed') "
                             "order by runid desc limit 1", [jobid, last])
            time.sleep(0.5)
        assert status == "succeeded"
    c.sql("select cron.unschedule(%s)", [jobid])


# -- the history's size and index ----------------------------------------------------------

async def test_history_size_and_index(quiet: Cluster) -> None:
    jobid = add_job(quiet, "doctor-busy", "* * * * *", active=False)
    try:
        quiet.sql("insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
                  "command, status, return_message, start_time, end_time) "
                  "select %s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', "
                  "'succeeded', '1 row', now() - make_interval(hours => g), "
                  "now() - make_interval(hours => g) + interval '1 s' "
                  "from generate_series(1, 12000) g", [jobid])
        quiet.sql("analyze cron.job_run_details")
        found = await diagnose(quiet.conninfo, Limits(size_warn_rows=5000))
        f = found["history.size"]
        assert f.status == "warning" and f.fix == PURGE, f
        assert "about 12," in f.summary
        f = found["history.index"]
        assert f.status == "warning" and f.fix == INDEX, f

        # The fixes, run as written.
        quiet.sql(INDEX)
        found = await diagnose(quiet.conninfo, Limits(size_warn_rows=5000))
        assert found["history.index"].status == "ok"
        for statement in PURGE.split(";\n")[0:1]:
            quiet.sql(statement)
        quiet.sql("analyze cron.job_run_details")
        found = await diagnose(quiet.conninfo, Limits(size_warn_rows=5000))
        assert found["history.size"].status == "ok", found["history.size"]
    finally:
        clear(quiet, jobid)
        quiet.sql("drop index if exists cron.job_run_details_jobid_runid_idx")


# -- a role that may not look everywhere ----------------------------------------------------

async def test_non_superuser_sees_unknown_not_problem(cluster: Cluster) -> None:
    cluster.sql("do $$ begin create role doctor_watcher login; "
                "exception when duplicate_object then null; end $$")
    cluster.sql("grant usage on schema cron to doctor_watcher")
    found = await diagnose(cluster.sandbox.conninfo(user="doctor_watcher"))
    for check in ("pg_cron.preload", "scheduler.running", "jobs.owner"):
        assert found[check].status == "unknown", found[check]
    assert "pg_read_all_stats" in (found["scheduler.running"].fix or "")
    assert "pg_read_all_settings" in (found["pg_cron.preload"].fix or "")
    # 1.4 always uses UTC; from 1.5 the zone is cron.timezone, which this role may not read.
    assert found["runs.missed"].status == ("ok" if cluster.pg_cron == "1.4" else "unknown")
    assert not [f for f in found.values() if f.status == "problem"]

    # With the right grants, the same role sees the scheduler.
    cluster.sql("grant pg_read_all_stats to doctor_watcher")
    try:
        found = await diagnose(cluster.sandbox.conninfo(user="doctor_watcher"))
        assert found["scheduler.running"].status == "ok", found["scheduler.running"]
    finally:
        cluster.sql("revoke pg_read_all_stats from doctor_watcher")


async def test_role_without_usage_on_cron(cluster: Cluster) -> None:
    cluster.sql("do $$ begin create role doctor_outsider login; "
                "exception when duplicate_object then null; end $$")
    try:
        found = await diagnose(cluster.sandbox.conninfo(user="doctor_outsider"))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"the doctor should degrade, not fail: {exc}")
    # What the catalogs tell anyone is still known; what needs USAGE on cron is unknown.
    assert found["pg_cron.installed"].status == "ok"
    unknown = ("runs.stuck", "runs.missed", "jobs.failing", "jobs.owner", "jobs.node",
               "history.size", "scheduler.running")
    assert {found[c].status for c in unknown} == {"unknown"}
    assert {f.status for f in found.values()} <= {"ok", "unknown"}
    assert "permission denied for schema cron" in found["runs.stuck"].summary
    assert found["runs.stuck"].fix == (
        "as a superuser: grant usage on schema cron to doctor_outsider;")

