"""Last runs at scale without the (jobid, runid) index: never "never" while a run exists.

A private cluster per pg_cron version, its scheduler not loaded so that nothing runs but what
a test writes. The history is made longer than the look-back the way the bench makes it
(`insert ... select generate_series`), with the look-back at its real size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from textual.widgets import DataTable, Static

from tests.conftest import INSTALLATIONS, Cluster, start_cluster
from tests.ui.conftest import running_app, select_job, wait_for
from tui.db import ConnectOptions, Database
from tui.db.client import LOOKBACK_RUNS
from tui.db.lastrun import BackSearch
from tui.doctor import INDEX, Limits, run_checks
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.help import HelpScreen

#: Runs of the busy job: longer than the look-back, as on any server with a job a minute.
BUSY_RUNS = LOOKBACK_RUNS + 2_000
INDEX_NAME = "cron.job_run_details_jobid_runid_idx"

BUSY = ("session-cleanup", "*/5 * * * *",
        "DELETE FROM auth.sessions WHERE not_after < now() - interval '1 day'")
WEEKLY = ("weekly-partition-maintenance", "15 4 * * SUN", "CALL partman.run_maintenance_proc()")
UNUSED = ("refresh-daily-sales", "0 1 * * *",
          "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.daily_sales")


@pytest.fixture(scope="module", params=INSTALLATIONS, ids=lambda i: i.label)
def quiet(request: pytest.FixtureRequest) -> Iterator[Cluster]:
    """pg_cron created, then the library unloaded: no scheduler adds runs behind our back."""
    c = start_cluster(request.param)
    c.sandbox.stop()
    c.sandbox.settings["shared_preload_libraries"] = "''"
    c.sandbox.start()
    c.sandbox.wait_ready()
    with c.connect() as conn:
        # cron.job's cache trigger is pg_cron's C code, not loaded now: write as a replica.
        conn.execute("set session_replication_role = replica")
        port = conn.execute("select current_setting('port')::int").fetchone()[0]  # type: ignore[index]
        for name, schedule, command in (BUSY, WEEKLY, UNUSED):
            conn.execute(
                "insert into cron.job (schedule, command, nodename, nodeport, database, "
                "username, active, jobname) values (%s, %s, 'localhost', %s, 'postgres', "
                "'postgres', true, %s)", [schedule, command, port, name])
    yield c
    c.sandbox.destroy()


def jobid(c: Cluster, name: str) -> int:
    return c.value("select jobid from cron.job where jobname = %s", [name])


def old_weekly_run(c: Cluster) -> int:
    """The weekly job's last run: a Sunday four months ago, before everything else."""
    return c.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) select %s, nextval('cron.runid_seq'), "
        "48213, 'postgres', 'postgres', %s, 'succeeded', 'CALL', t, t + interval '41 s' "
        "from (select date_trunc('week', now()) - interval '17 weeks' - interval '1 day' "
        "+ interval '4 h 15 min' as t) w returning runid", [jobid(c, WEEKLY[0]), WEEKLY[2]])


def busy_history(c: Cluster, runs: int = BUSY_RUNS) -> None:
    """The busy job's runs every five minutes up to now, newer than the weekly run."""
    c.sql("insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
          "command, status, return_message, start_time, end_time) "
          "select %s, nextval('cron.runid_seq'), 50000 + g %% 10000, 'postgres', 'postgres', %s, "
          "'succeeded', 'DELETE ' || (g %% 37), now() - make_interval(mins => 5 * (%s - g)), "
          "now() - make_interval(mins => 5 * (%s - g)) + interval '0.4 s' "
          "from generate_series(1, %s) g", [jobid(c, BUSY[0]), BUSY[2], runs, runs, runs])


def long_history(c: Cluster) -> int:
    """The weekly run, then more busy runs than the look-back; no index. Its runid."""
    c.sql(f"drop index if exists {INDEX_NAME}")
    c.sql("delete from cron.job_run_details")
    weekly = old_weekly_run(c)
    busy_history(c)
    c.sql("analyze cron.job_run_details")
    return weekly


def db_for(c: Cluster) -> Database:
    return Database(ConnectOptions(dbname=c.conninfo))


async def last_runs(c: Cluster) -> dict[str, Any]:
    db = db_for(c)
    try:
        facts = await db.facts()
        return {j.jobname: j for j in await db.jobs(indexed=facts.has_run_index)}
    finally:
        await db.close()


async def last_runs_finding(c: Cluster) -> Any:
    db = db_for(c)
    try:
        found = {f.check: f for f in await run_checks(db, Limits())}
    finally:
        await db.close()
    return found["history.last_runs"]


def jobs_json(c: Cluster) -> dict[str, dict[str, Any]]:
    done = subprocess.run([sys.executable, "-m", "tui", "jobs", "--json", "-d", c.conninfo],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return {j["jobname"]: j for j in json.loads(done.stdout)}


async def test_last_runs_tell_the_truth(quiet: Cluster) -> None:
    quiet.sql(f"drop index if exists {INDEX_NAME}")
    quiet.sql("delete from cron.job_run_details")

    # A history no longer than the look-back: it was searched whole, so "never" is true.
    weekly = old_weekly_run(quiet)
    busy_history(quiet, 500)
    jobs = await last_runs(quiet)
    assert jobs[WEEKLY[0]].last_runid == weekly and jobs[WEEKLY[0]].last_run_known
    assert jobs[UNUSED[0]].last_runid is None and jobs[UNUSED[0]].last_run_known
    assert (await last_runs_finding(quiet)).status == "ok"
    out = jobs_json(quiet)
    assert out[UNUSED[0]]["last_status"] is None and out[UNUSED[0]]["last_run_known"] is True
    assert out[WEEKLY[0]]["last_status"] == "succeeded"

    # Longer than the look-back: the weekly run lies beyond it, and nobody says "never".
    busy_history(quiet)
    jobs = await last_runs(quiet)
    for name in (WEEKLY[0], UNUSED[0]):
        assert jobs[name].last_runid is None and not jobs[name].last_run_known, jobs[name]
        assert jobs[name].last_run_lookback == LOOKBACK_RUNS
    assert jobs[BUSY[0]].last_status == "succeeded" and jobs[BUSY[0]].last_run_known
    out = jobs_json(quiet)
    assert out[WEEKLY[0]]["last_status"] is None and out[WEEKLY[0]]["last_run_known"] is False
    assert out[UNUSED[0]]["last_run_known"] is False
    assert out[BUSY[0]]["last_run_known"] is True
    table = subprocess.run([sys.executable, "-m", "tui", "jobs", "-d", quiet.conninfo],
                           capture_output=True, text=True, timeout=60).stdout
    weekly_line = next(line for line in table.splitlines() if WEEKLY[0] in line)
    assert weekly_line.rstrip().endswith("not in newest 10k"), weekly_line

    # The doctor says so, with the fix, and names the jobs.
    finding = await last_runs_finding(quiet)
    assert finding.status == "warning", finding
    assert "10,000" in finding.summary and INDEX in (finding.fix or "")
    assert "m (maintenance)" in (finding.fix or "")
    assert any(WEEKLY[0] in d for d in finding.details)
    assert any(UNUSED[0] in d for d in finding.details)
    assert not any(BUSY[0] in d for d in finding.details)

    # The index, created as the doctor says: the same jobs show their real last run.
    quiet.sql(INDEX)
    jobs = await last_runs(quiet)
    assert jobs[WEEKLY[0]].last_runid == weekly and jobs[WEEKLY[0]].last_status == "succeeded"
    assert jobs[UNUSED[0]].last_runid is None and jobs[UNUSED[0]].last_run_known
    out = jobs_json(quiet)
    assert out[WEEKLY[0]]["last_status"] == "succeeded"
    assert out[WEEKLY[0]]["last_run_known"] is True
    assert out[UNUSED[0]]["last_status"] is None and out[UNUSED[0]]["last_run_known"] is True
    assert (await last_runs_finding(quiet)).status == "ok"
    quiet.sql(f"drop index {INDEX_NAME}")

    # After a purge leaves less than the look-back, "never" is true again without the index.
    quiet.sql("delete from cron.job_run_details where runid <= "
              "(select max(runid) - 3000 from cron.job_run_details)")
    jobs = await last_runs(quiet)
    assert jobs[WEEKLY[0]].last_runid is None and jobs[WEEKLY[0]].last_run_known


async def test_search_further_back_in_slices(quiet: Cluster) -> None:
    weekly = long_history(quiet)
    db = db_for(quiet)
    try:
        search = BackSearch(db, jobid(quiet, WEEKLY[0]), chunk=1_000)
        await search.begin()
        assert search.total == BUSY_RUNS + 1
        steps = 0
        while not search.done:
            before = search.searched
            await search.step()
            steps += 1
            assert search.searched > before  # each slice moves down
            if steps == 3:
                # Stopping between slices leaves nothing open: other queries go on.
                assert (await db.facts()).has_run_index is False
        assert [r.runid for r in search.found] == [weekly]
        assert search.found[0].status == "succeeded" and search.found[0].jobname == WEEKLY[0]
        assert steps == -(-(BUSY_RUNS + 1) // 1_000)  # every slice, none skipped or repeated

        # A job that never ran: the search ends at the oldest run, having found none.
        never = BackSearch(db, jobid(quiet, UNUSED[0]), chunk=5_000)
        while not never.done:
            await never.step()
        assert never.found == [] and never.searched == never.total == BUSY_RUNS + 1
    finally:
        await db.close()


async def test_a_role_under_row_level_security(quiet: Cluster) -> None:
    """A role that sees only its own runs: what it cannot see is not called "never"."""
    quiet.sql("do $$ begin create role billing_reports login; "
              "exception when duplicate_object then null; end $$")
    quiet.sql("grant usage on schema cron to billing_reports")
    with quiet.connect() as conn:
        conn.execute("set session_replication_role = replica")
        conn.execute("delete from cron.job where username = 'billing_reports'")
        for name, schedule in (("monthly-invoice-export", "0 6 1 * *"),
                               ("hourly-usage-export", "0 * * * *")):
            conn.execute(
                "insert into cron.job (schedule, command, nodename, nodeport, database, "
                "username, active, jobname) values (%s, 'SELECT billing.export_invoices()', "
                "'localhost', 5432, 'postgres', 'billing_reports', true, %s)", [schedule, name])
    quiet.sql(f"drop index if exists {INDEX_NAME}")
    quiet.sql("delete from cron.job_run_details")

    def own_run(name: str) -> int:
        return quiet.value(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
            "command, status, return_message, start_time, end_time) select jobid, "
            "nextval('cron.runid_seq'), 61007, 'postgres', 'billing_reports', command, "
            "'succeeded', '1 row', now() - interval '1 h', now() - interval '1 h' "
            "from cron.job where jobname = %s returning runid", [name])

    monthly = own_run("monthly-invoice-export")
    busy_history(quiet)  # other roles' runs, which this role does not see
    hourly = own_run("hourly-usage-export")
    conninfo = quiet.sandbox.conninfo(user="billing_reports")
    db = Database(ConnectOptions(dbname=conninfo))
    try:
        facts = await db.facts()
        assert not facts.sees_all and not facts.has_run_index
        jobs = {j.jobname: j for j in await db.jobs(indexed=False)}
        assert set(jobs) == {"monthly-invoice-export", "hourly-usage-export"}
        assert jobs["hourly-usage-export"].last_runid == hourly
        assert not jobs["monthly-invoice-export"].last_run_known
        finding = {f.check: f for f in await run_checks(db)}["history.last_runs"]
        assert finding.status == "warning" and "billing_reports" in finding.summary
        quiet.sql(INDEX)  # made by a superuser, it serves every role
        jobs = {j.jobname: j for j in await db.jobs(indexed=(await db.facts()).has_run_index)}
        assert jobs["monthly-invoice-export"].last_runid == monthly
    finally:
        await db.close()
        quiet.sql(f"drop index if exists {INDEX_NAME}")
        with quiet.connect() as conn:
            conn.execute("set session_replication_role = replica")
            conn.execute("delete from cron.job where username = 'billing_reports'")


def last_cell(app: Any, name: str) -> str:
    job = app.job_by_name(name)
    return app.main.jobs_table.get_cell(str(job.jobid), "last").plain


async def test_table_and_detail_tell_the_truth(quiet: Cluster) -> None:
    weekly = long_history(quiet)
    async with running_app(quiet) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_name(WEEKLY[0]) is not None
                       and app.main.jobs_table.row_count >= 3)
        assert last_cell(app, WEEKLY[0]) == "not in newest 10k"
        assert last_cell(app, UNUSED[0]) == "not in newest 10k"
        assert last_cell(app, BUSY[0]).startswith("succeeded")
        title = app.main.query_one("#jobs-title").render()
        # The weekly job, the one never run, and the seed's two (no runs here).
        assert "4 job(s) not in newest 10k runs: m → Create index" in str(title)

        # The weekly job's detail: not "never"; b searches further back and finds its run.
        await select_job(app, pilot, WEEKLY[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        screen = app.screen
        heading = screen.query_one("#history-title", Static)
        assert "No run of this job among the newest 10k runs" in str(heading.render())
        assert "never" not in str(screen.query_one("#stats", Static).render())
        await pilot.press("b")
        history = screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: history.row_count == 1)
        assert str(history.get_row_at(0)[0]) == str(weekly)
        assert str(history.get_row_at(0)[2]) == "succeeded"
        await wait_for(pilot, lambda: f"Last run #{weekly}" in str(heading.render()))
        await pilot.press("escape")

        # A job that never ran: the whole history searched, then (and only then) "never".
        await select_job(app, pilot, UNUSED[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        heading = app.screen.query_one("#history-title", Static)
        await pilot.press("b")
        await wait_for(pilot, lambda: "in the whole history" in str(heading.render()))
        assert "it has never run" in str(heading.render())
        await pilot.press("escape", "escape")  # back, and the name filter cleared
        await wait_for(pilot, lambda: app.main.jobs_table.row_count >= 3)

        # The index comes while the weekly job's detail is open: its history appears.
        await select_job(app, pilot, WEEKLY[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        history = app.screen.query_one("#history", DataTable)
        quiet.sql(INDEX)
        try:
            await wait_for(pilot, lambda: history.row_count == 1)
            assert str(history.get_row_at(0)[0]) == str(weekly)
            await pilot.press("escape", "escape")
            # The same rows show the real last run, and "never" where it is true.
            await wait_for(pilot, lambda: app.main.jobs_table.row_count >= 3)
            await wait_for(pilot, lambda: last_cell(app, WEEKLY[0]).startswith("succeeded"))
            assert last_cell(app, UNUSED[0]) == "never"
            assert "not in newest" not in str(app.main.query_one("#jobs-title").render())
        finally:
            quiet.sql(f"drop index {INDEX_NAME}")


async def test_the_search_stops_when_asked_and_goes_on(quiet: Cluster) -> None:
    long_history(quiet)
    busy_history(quiet, 110_000)  # more than one slice to search
    async with running_app(quiet) as (app, pilot):
        await select_job(app, pilot, UNUSED[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        screen = app.screen
        assert isinstance(screen, JobDetailScreen)
        heading = screen.query_one("#history-title", Static)
        with quiet.connect() as locker:
            # Held by another session, the table makes the search wait in its first query:
            # the operator's second b lands while it runs, whatever the machine's speed.
            with locker.transaction():
                locker.execute("lock table cron.job_run_details in access exclusive mode")
                await pilot.press("b")
                await wait_for(pilot, lambda: screen.searching)
                await pilot.press("b")
                assert "Stopping after this slice" in str(heading.render())
        await wait_for(pilot, lambda: not screen.searching)
        assert "Stopped: no run of this job yet" in str(heading.render())
        assert screen.search is not None and not screen.search.done
        # b again goes on from there, to the end of the history.
        await pilot.press("b")
        await wait_for(pilot, lambda: "in the whole history" in str(heading.render()))
        assert screen.search.searched == screen.search.total > 100_000


async def test_narrow_table_says_it_short(quiet: Cluster) -> None:
    long_history(quiet)
    async with running_app(quiet, size=(80, 24)) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_name(WEEKLY[0]) is not None
                       and app.main.jobs_table.row_count >= 3)
        assert last_cell(app, WEEKLY[0]) == "not in 10k"
        # The help says what the short form means.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        help_text = " ".join(str(s.render()) for s in app.screen.query(Static))
        assert '"not in 10k" on narrow screens' in help_text
        assert "only the newest 10,000 runs are searched" in help_text
