"""A real streaming standby (pg_basebackup -R of the test cluster, on a port of its own)."""

from __future__ import annotations

from tests.conftest import Cluster, Standby
from tui.config import Settings
from tui.db import ConnectOptions, Database
from tui.doctor import OK, PROBLEM, UNKNOWN, run_checks
from tui.ui.app import CronJobsApp
from tui.ui.screens.operator import MUTATING


async def test_facts_know_a_standby_and_its_primary(standby: Standby, cluster: Cluster) -> None:
    db = Database(ConnectOptions(dbname=standby.conninfo))
    try:
        facts = await db.facts()
    finally:
        await db.close()
    assert facts.in_recovery and facts.read_only
    assert facts.read_only_reason and "standby" in facts.read_only_reason
    # The primary's address, never the password pg_basebackup -R wrote into primary_conninfo.
    assert facts.primary_address == f"127.0.0.1:{cluster.sandbox.port}"
    assert cluster.sandbox.password not in (facts.primary_address or "")


async def test_the_app_on_a_standby_is_read_only_and_says_standby(standby: Standby,
                                                                  cluster: Cluster) -> None:
    app = CronJobsApp(ConnectOptions(dbname=standby.conninfo), Settings(refresh_interval=0.5))
    async with app.run_test(size=(200, 40)) as pilot:
        for _ in range(300):
            if app.facts is not None:
                break
            await pilot.pause(0.05)
        await pilot.pause(0.2)
        assert app.read_only  # by the server's say: no --read-only was given
        footer = {b.action for b in app.main.active_bindings_list()}
        assert not footer & MUTATING
        header = str(app.main.query_one("ServerHeader").render())
        password = cluster.sandbox.password
    assert "READ-ONLY: standby" in header
    assert f"STANDBY of 127.0.0.1:{cluster.sandbox.port}" in header
    assert "NOT RUNNING" not in header
    assert password not in header


async def test_doctor_on_a_standby_gives_only_standby_advice(standby: Standby,
                                                             cluster: Cluster) -> None:
    db = Database(ConnectOptions(dbname=standby.conninfo))
    try:
        findings = {f.check: f for f in await run_checks(db)}
    finally:
        await db.close()
    primary = findings["server.primary"]
    assert primary.status != OK and "connect to the primary" in (primary.fix or "")
    assert f"127.0.0.1:{cluster.sandbox.port}" in (primary.fix or "")
    # Reported once: the launcher's absence is no problem here, the ports no mismatch.
    assert findings["scheduler.running"].status == OK
    assert findings["jobs.node"].status == OK
    assert not [f for f in findings.values() if f.status == PROBLEM]
    advice = " ".join(f.fix or "" for f in findings.values())
    assert "nodeport" not in advice and "restart PostgreSQL" not in advice
    assert cluster.sandbox.password not in advice


async def test_orphaned_is_unknown_on_a_standby(standby: Standby, cluster: Cluster) -> None:
    """A standby's backends are not the primary's: whether a run's backend lives cannot be
    told there, and is said unknown, never guessed (the primary says orphaned)."""
    jobid = cluster.value("select cron.schedule('standby-orphan', '0 0 31 2 *', 'select 1')")
    try:
        runid = cluster.value(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
            "command, status, start_time) values (%s, nextval('cron.runid_seq'), 4242, "
            "'postgres', 'postgres', 'select 1', 'running', now()) returning runid", [jobid])
        standby.wait_for("select exists (select 1 from cron.job_run_details where runid = %s)",
                         [runid])
        said = {}
        for name, conninfo in (("primary", cluster.conninfo), ("standby", standby.conninfo)):
            db = Database(ConnectOptions(dbname=conninfo))
            try:
                findings = {f.check: f for f in await run_checks(db)}
                job = next(j for j in await db.jobs(indexed=False) if j.jobid == jobid)
            finally:
                await db.close()
            said[name] = (findings["runs.orphaned"], job.last_orphaned)
        finding, verdict = said["primary"]
        assert finding.status == PROBLEM and verdict is True
        assert any("standby-orphan" in d for d in finding.details)
        finding, verdict = said["standby"]
        assert finding.status == UNKNOWN and "standby" in finding.summary and verdict is None
    finally:
        cluster.sql("delete from cron.job_run_details where jobid = %s", [jobid])
        cluster.sql("select cron.unschedule(%s)", [jobid])
