"""When the server says no (issue 21): no action's error reaches the top of the app. Each
refusal is real: a stopped server, a read-only role, a read-only session through PgBouncer,
a streaming standby, a role without the privilege, a lock held past the timeout."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from textual.pilot import Pilot
from textual.widgets import Input, Static

from tests.conftest import Cluster, Pooler, Role, Standby
from tests.ui.conftest import NEVER, dialog_ready, select_job, wait_for
from tui.config import Settings
from tui.db import ConnectOptions
from tui.ui.app import CronJobsApp
from tui.ui.screens.confirm import ConfirmScreen, RunNowScreen
from tui.ui.screens.main import MainScreen
from tui.ui.screens.operator import JOB_BINDINGS, MUTATING


@asynccontextmanager
async def app_on(conninfo: str, **opts: Any) -> AsyncIterator[tuple[CronJobsApp, Pilot[Any]]]:
    app = CronJobsApp(ConnectOptions(dbname=conninfo, **opts), Settings(refresh_interval=0.5))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        yield app, pilot
        assert_alive(app)


def assert_alive(app: CronJobsApp) -> None:
    """Nothing reached Textual's own handler (which would end the app with a traceback)."""
    assert app._exception is None, app._exception
    assert app.is_running and app.return_code is None


def errors(app: CronJobsApp) -> list[str]:
    return [n.message for n in app._notifications if n.severity == "error"]


async def refused(pilot: Pilot[Any], app: CronJobsApp, *needles: str,
                  either: tuple[str, ...] = ()) -> str:
    """Until an error notification holding every needle (and one of `either`) is shown;
    returns it. One sentence: no line breaks, no traceback."""
    found: list[str] = []

    def shown() -> bool:
        found[:] = [m for m in errors(app) if all(n in m for n in needles)
                    and (not either or any(e in m for e in either))]
        return bool(found)

    await wait_for(pilot, shown)
    assert_alive(app)
    message = found[-1]
    assert "Traceback" not in message and "\n" not in message
    app.clear_notifications()
    return message


async def back_to_main(pilot: Pilot[Any], app: CronJobsApp) -> None:
    for _ in range(5):
        if isinstance(app.screen, MainScreen):
            return
        await pilot.press("escape")
        await pilot.pause(0.1)
    assert isinstance(app.screen, MainScreen)


# -- the one test: every action against a server that is gone ------------------------------

#: How an operator starts each action from the main screen, and completes its dialogs.
#: Keyed by the binding's action name: a new action without an entry fails the test below.
DRIVERS: dict[str, list[str]] = {
    "trigger": ["t"],
    "pause": ["s"],
    "edit": ["e"],
    "new": ["n"],
    "delete": ["d"],
    "cancel_run": ["x"],
    "send_http": ["h", "tab", "enter"],  # Close has the focus; Send is next
    "export": ["ctrl+e", "enter"],
}


def test_every_action_has_a_driver() -> None:
    """The test below covers each mutating action and the export: adding an action without
    covering it here fails."""
    actions = {b.action for b in JOB_BINDINGS} & MUTATING
    assert actions - {"maintenance"} <= set(DRIVERS), actions - set(DRIVERS)
    assert "export" in {b.action for b in MainScreen.BINDINGS}


async def test_no_action_error_escapes_to_the_top(fresh_cluster: Cluster) -> None:
    cluster = fresh_cluster
    name = "adapter-health-probe"
    cluster.value("select cron.schedule(%s, %s, %s)", [
        name, NEVER, "select net.http_post(url := 'http://127.0.0.1:9/functions/v1/x')"])
    async with app_on(cluster.conninfo) as (app, pilot):
        await select_job(app, pilot, name)
        cluster.sandbox.kill()  # the server goes away under the running app
        for action, keys in DRIVERS.items():
            app.clear_notifications()
            await pilot.press(*keys)
            if action == "send_http":
                # The HTTP dialog says so in its answer line, and stays open.
                await wait_for(pilot, lambda: "could not evaluate" in str(
                    app.screen.query_one("#http-answer", Static).render()))
            else:
                await refused(pilot, app)
            assert_alive(app)
            await back_to_main(pilot, app)
        # Maintenance: its three actions report in its status line.
        await pilot.press("m")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MaintenanceScreen")
        status = app.screen.query_one("#status", Static)
        for button in ("#index", "#purge", "#schedule"):
            app.screen.query_one(button).press()
            for _ in range(20):
                if isinstance(app.screen, ConfirmScreen):
                    await pilot.press("tab", "enter")
                    break
                await pilot.pause(0.05)
            # In its status line, or (a raw driver error) through the app's one handler.
            await wait_for(pilot, lambda: "Not" in str(status.render())
                           or "stopped" in str(status.render()) or errors(app))
            app.clear_notifications()
            assert_alive(app)
        await back_to_main(pilot, app)
        # The server comes back; the app never left.
        cluster.sandbox.start()
        cluster.sandbox.wait_ready()
        await wait_for(pilot, lambda: not app.main.query_one("#banner").has_class("shown"),
                       timeout=45)


# -- each kind of refusal, for real --------------------------------------------------------


async def write_actions(app: CronJobsApp, pilot: Pilot[Any], jobid: int,
                        *reasons: str) -> None:
    """t, s, d, e, n on a session that may not write: each refused in one sentence naming
    one of `reasons` (the server's say, or our read-only mode once the app adopts it), the
    app still running. The app's job actions are called as the keys call them, so
    the refusal is proven even where the keys are hidden (read-only sessions)."""
    job = app.job_by_id(jobid)
    assert job is not None
    acts = app.job_actions
    for start in (lambda: acts.trigger(job), lambda: acts.pause_or_resume(jobid),
                  lambda: acts.delete(jobid), lambda: acts.edit(jobid),
                  lambda: acts.new()):
        start()
        await refused(pilot, app, either=reasons)
        assert isinstance(app.screen, MainScreen)  # refused before any dialog opened


@pytest.fixture
def job_of(cluster: Cluster) -> Any:
    made: list[int] = []

    def make(username: str = "postgres") -> int:
        jobid = int(cluster.value(
            "select cron.schedule_in_database(%s, %s, 'select 1', 'postgres', %s)",
            [f"refusal-{len(made)}-{username}", NEVER, username]))
        made.append(jobid)
        return jobid

    yield make
    cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [made])


def state(cluster: Cluster, jobid: int) -> Any:
    return cluster.sql("select schedule, command, active from cron.job where jobid = %s",
                       [jobid])


async def test_read_only_role(cluster: Cluster, read_only_role: Role,
                              job_of: Callable[..., int]) -> None:
    jobid = job_of(read_only_role.name)
    before = state(cluster, jobid)
    async with app_on(read_only_role.conninfo()) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_id(jobid) is not None)
        await write_actions(app, pilot, jobid, "read-only")
    assert state(cluster, jobid) == before  # and the job was not deleted


async def test_read_only_session_through_the_pooler(cluster: Cluster, pooler: Pooler,
                                                    read_only_role: Role,
                                                    job_of: Callable[..., int]) -> None:
    jobid = job_of(read_only_role.name)
    before = state(cluster, jobid)
    async with app_on(read_only_role.via(pooler)) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_id(jobid) is not None)
        await write_actions(app, pilot, jobid, "read-only")
    assert state(cluster, jobid) == before


async def test_standby(cluster: Cluster, standby: Standby, job_of: Callable[..., int]) -> None:
    jobid = job_of()
    standby.wait_for("select exists (select 1 from cron.job where jobid = %s)", [jobid])
    before = state(cluster, jobid)
    async with app_on(standby.conninfo) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_id(jobid) is not None)
        await write_actions(app, pilot, jobid, "standby", "read-only")
    assert state(cluster, jobid) == before


async def test_role_without_the_privilege(cluster: Cluster, job_of: Callable[..., int]) -> None:
    """USAGE on cron only (pg_cron revokes alter_job from PUBLIC): `s`, confirmed, shows the
    server's refusal with the grant that fixes it."""
    import secrets

    role, password = f"ops_{secrets.token_hex(4)}", secrets.token_hex(12)
    cluster.sql(f"create role {role} login password '{password}'")
    cluster.sql(f"grant usage on schema cron to {role}")
    try:
        jobid = job_of(role)
        before = state(cluster, jobid)
        conninfo = make_conninfo(cluster.conninfo, user=role, password=password, passfile="")
        async with app_on(conninfo) as (app, pilot):
            await select_job(app, pilot, f"refusal-0-{role}")
            await pilot.press("s")
            await wait_for(pilot, lambda: dialog_ready(app))
            await pilot.press("tab", "enter")
            message = await refused(pilot, app, "alter_job")
            assert "grant execute on function cron.alter_job" in message
        assert state(cluster, jobid) == before
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where username = %s", [role])
        cluster.sql(f"drop owned by {role}")
        cluster.sql(f"drop role {role}")


async def test_a_lock_held_past_the_timeout(cluster: Cluster,
                                            job_of: Callable[..., int]) -> None:
    jobid = job_of()
    before = state(cluster, jobid)
    async with app_on(cluster.conninfo, statement_timeout_ms=800) as (app, pilot):
        await select_job(app, pilot, "refusal-0-postgres")
        with psycopg.connect(cluster.conninfo) as locker:
            locker.execute("select * from cron.job where jobid = %s for update", [jobid])
            await pilot.press("s")
            await wait_for(pilot, lambda: dialog_ready(app))
            await pilot.press("tab", "enter")
            await refused(pilot, app, "lock timeout", "another session holds a lock")
            locker.rollback()
        # Then it works: nothing was left half-done.
        await pilot.press("s")
        await wait_for(pilot, lambda: dialog_ready(app))
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: state(cluster, jobid)[0][2] is False)
    assert state(cluster, jobid)[0][:2] == before[0][:2]


async def test_statement_timeout_keeps_the_form(fresh_cluster: Cluster) -> None:
    """A save the server does not finish in time: the form stays open with what was typed,
    the message says what to do, and no job was created."""
    cluster = fresh_cluster
    cluster.sql("create function public.slow() returns trigger language plpgsql as "
                "$$begin perform pg_sleep(3); return new; end$$")
    cluster.sql("create trigger slow before insert on cron.job "
                "for each row execute function public.slow()")
    count = cluster.value("select count(*) from cron.job")
    async with app_on(cluster.conninfo, statement_timeout_ms=1000) as (app, pilot):
        await pilot.press("n")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "JobFormScreen")
        form = app.screen
        form.query_one("#name", Input).value = "nightly-vacuum-usage"
        form.query_one("#schedule", Input).value = "30 2 * * *"
        form.query_one("#command").text = "VACUUM (ANALYZE) public.usage_events"  # type: ignore[attr-defined]
        await pilot.press("ctrl+s")
        message = await refused(pilot, app, "statement timeout")
        assert "nothing was" in message
        assert app.screen is form
        assert form.query_one("#name", Input).value == "nightly-vacuum-usage"
    assert cluster.value("select count(*) from cron.job") == count


async def test_trigger_confirmation_states_the_limit(cluster: Cluster,
                                                     job_of: Callable[..., int]) -> None:
    """`t` asks first, with the job as it is now and the time limit that will apply."""
    jobid = job_of()
    async with app_on(cluster.conninfo) as (app, pilot):
        await select_job(app, pilot, "refusal-0-postgres")
        cluster.sql("select cron.alter_job(%s, command := 'select 42')", [jobid])
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, RunNowScreen))
        dialog = app.screen
        assert dialog.focused is not None and dialog.focused.id == "cancel"
        assert "select 42" in str(dialog.question())  # read fresh, not the cached row
        limit = dialog.query_one("#limit-text", Static)
        assert "none beyond the server's own" in str(limit.render())
        dialog.query_one("#limit", Input).value = "90"
        await pilot.pause(0.1)
        assert "90 s" in str(limit.render())
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: cluster.value(
            "select count(*) from cron.job_run_details where jobid = %s", [jobid]) == 1
            and not app.manual)
        assert cluster.value("select return_message from cron.job_run_details "
                             "where jobid = %s", [jobid]) == "manual run by postgres: 1 row"


# -- x: pg_cron's own run, cancelled (issue 18, item 3) --------------------------------------


@pytest.mark.realtime  # pg_cron 1.4 starts it on the next minute
async def test_x_cancels_pg_cron_s_own_run(cluster: Cluster) -> None:
    every = "1 seconds" if cluster.pg_cron == "1.6" else "* * * * *"
    name = "runaway-rollup"
    jobid = cluster.value("select cron.schedule(%s, %s, 'select pg_sleep(120)')", [name, every])
    try:
        async with app_on(cluster.conninfo) as (app, pilot):
            await select_job(app, pilot, name)
            await wait_for(pilot, lambda: cluster.value(
                "select count(*) from cron.job_run_details where jobid = %s "
                "and status = 'running'", [jobid]), timeout=70)
            runid = cluster.value("select max(runid) from cron.job_run_details "
                                  "where jobid = %s and status = 'running'", [jobid])
            await pilot.press("x")
            await wait_for(pilot, lambda: dialog_ready(app))
            dialog = app.screen
            assert f"pg_cron's run #{runid} (running for" in str(dialog.question)
            assert dialog.focused is not None and dialog.focused.id == "cancel"
            cluster.sql("select cron.alter_job(%s, active := false)", [jobid])  # no next run
            await pilot.press("tab", "enter")
            await wait_for(pilot, lambda: cluster.value(
                "select status from cron.job_run_details where runid = %s", [runid]) == "failed",
                timeout=30)
            # The stream follows the run to its end.
            table = app.main.runs_table
            await wait_for(pilot, lambda: runid in table.runs
                           and table.runs[runid].status == "failed", timeout=30)
            assert app.audit.tail()[0]["action"] == "cancel"
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])


async def test_a_second_run_asks_and_x_cancels_ours(cluster: Cluster,
                                                    job_of: Callable[..., int]) -> None:
    jobid = job_of()
    cluster.sql("select cron.alter_job(%s, command := 'select pg_sleep(60)')", [jobid])
    async with app_on(cluster.conninfo) as (app, pilot):
        await select_job(app, pilot, "refusal-0-postgres")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, RunNowScreen))
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: cluster.value(
            "select count(*) from cron.job_run_details where jobid = %s and status = 'running'",
            [jobid]) == 1)
        # Again while it runs: said, and asked, with the run named.
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, RunNowScreen))
        dialog = app.screen
        assert "a manual run #" in str(dialog.question()) and "is in progress" in str(
            dialog.question())
        assert str(dialog.query_one("#confirm").label) == "Run anyway"
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("x")  # ours: cancelled at once
        await wait_for(pilot, lambda: not app.manual)
        assert cluster.sql("select status, return_message from cron.job_run_details "
                           "where jobid = %s", [jobid]) == [
            ("failed", "manual run by postgres: job canceled")]


async def test_quit_mid_run_records_it_failed(cluster: Cluster,
                                              job_of: Callable[..., int]) -> None:
    jobid = job_of()
    cluster.sql("select cron.alter_job(%s, command := 'select pg_sleep(60)')", [jobid])
    app = CronJobsApp(ConnectOptions(dbname=cluster.conninfo), Settings(refresh_interval=0.5))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        await select_job(app, pilot, "refusal-0-postgres")
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, RunNowScreen))
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: cluster.value(
            "select count(*) from cron.job_run_details where jobid = %s and status = 'running'",
            [jobid]) == 1)
        await pilot.press("q")
    assert cluster.sql("select status, return_message, end_time is not null "
                       "from cron.job_run_details where jobid = %s", [jobid]) == [
        ("failed", "manual run by postgres: job canceled (the operator quit)", True)]
