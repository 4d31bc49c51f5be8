"""Orphaned runs marked failed from the maintenance screen (`m`), on a real cluster.

The orphans are made for real, as tests/test_agreement.py does: jobs run `pg_sleep`, pg_cron's
launcher is stopped (SIGSTOP) and the jobs' backends are terminated, so their rows stay
`running` with a pid that is no longer a backend. The launcher stays stopped while the test
looks (a running one would mark them failed itself) and is resumed after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Button, Static

from tests.conftest import Cluster, _drop_role, _make_role, start_standby
from tests.test_agreement import insert_run, launcher_stopped, wait_value
from tests.ui.conftest import dialog_ready, wait_for
from tui.config import Settings
from tui.db import ConnectOptions, DatabaseError
from tui.db import maintenance as maint
from tui.ui.app import CronJobsApp
from tui.ui.screens.maintenance import MaintenanceScreen

#: What a role that may read pg_cron's tables but not write them is given.
READER = ["create role {role} login bypassrls", "grant usage on schema cron to {role}",
          "grant select on all tables in schema cron to {role}",
          "grant select on all sequences in schema cron to {role}"]


@asynccontextmanager
async def maintenance(conninfo: str, *, read_only: bool = False, refused: bool = False
                      ) -> AsyncIterator[tuple[CronJobsApp, Pilot[Any], MaintenanceScreen]]:
    """The app connected by `conninfo`, its maintenance screen open and its runs read. Where
    `m` is `refused` (read-only mode, a standby: no maintenance at all), the screen is opened
    as `m` would, to see that it offers nothing either."""
    app = CronJobsApp(ConnectOptions(dbname=conninfo, read_only=read_only),
                      Settings(refresh_interval=0.5))
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        await pilot.press("m")
        if refused:
            await pilot.pause(0.5)
            assert not isinstance(app.screen, MaintenanceScreen)
            app.push_screen(MaintenanceScreen())
        await wait_for(pilot, lambda: isinstance(app.screen, MaintenanceScreen))
        screen = app.screen
        assert isinstance(screen, MaintenanceScreen)
        await wait_for(pilot, lambda: screen.orphans is not None, timeout=30)
        yield app, pilot, screen


def said(screen: MaintenanceScreen) -> str:
    return str(screen.query_one("#orphans", Static).render())


def offered(screen: MaintenanceScreen) -> bool:
    return screen.query_one("#orphans-row").display and screen.query_one("#mark").display


def toasts(app: CronJobsApp) -> str:
    return " ".join(str(t.render()) for t in app.screen.query("Toast"))


def row(c: Cluster, runid: int) -> tuple[Any, ...]:
    return c.sql("select status, return_message, end_time is not null from "
                 "cron.job_run_details where runid = %s", [runid])[0]


async def test_orphaned_runs_marked_failed_after_a_confirmation(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    jobs = [c.value("select cron.schedule(%s, '* * * * *', 'select pg_sleep(600)')", [name])
            for name in ("orphan-a", "orphan-b")]
    runs = [wait_value(c, "select array[runid, job_pid] from cron.job_run_details where "
                          "jobid = %s and status = 'running' and job_pid is not null", [jobid])
            for jobid in jobs]
    (run_a, pid_a), (run_b, pid_b) = runs
    reader = _make_role(c, "orphan_reader", READER)
    standby = None
    try:
        with launcher_stopped(c):
            for pid in (pid_a, pid_b):
                assert c.value("select pg_terminate_backend(%s)", [pid])
                wait_value(c, "select not exists (select 1 from pg_stat_activity "
                              "where pid = %s)", [pid], timeout=30)
            before = {r: row(c, r) for r in (run_a, run_b)}
            assert all(status == "running" for status, _m, _e in before.values())

            # Read-only mode, and a role that may not update the table: told, not offered.
            async with maintenance(c.conninfo, read_only=True,
                                   refused=True) as (_app, pilot, screen):
                assert "2 orphaned runs" in said(screen)
                assert not offered(screen)
            async with maintenance(reader.conninfo()) as (_app, pilot, screen):
                assert "2 orphaned runs" in said(screen)
                assert not offered(screen)
            # Where the backends cannot be seen (a standby's are not the primary's): unknown,
            # never guessed, nothing offered.
            standby = start_standby(c)
            standby.wait_for("select count(*) = 2 from cron.job_run_details "
                             "where status = 'running'")
            async with maintenance(standby.conninfo, refused=True) as (_app, pilot, screen):
                assert "unknown" in said(screen) and "orphaned runs:" not in said(screen)
                assert screen.orphans is not None and screen.orphans.unknown == 2
                assert not offered(screen)
            # The write itself refuses in read-only mode.
            try:
                await maint.mark_orphans_failed(
                    ConnectOptions(dbname=c.conninfo, read_only=True), [run_a])
            except DatabaseError:
                pass
            else:
                raise AssertionError("read-only mode marked a run")
            assert {r: row(c, r) for r in (run_a, run_b)} == before

            async with maintenance(c.conninfo) as (app, pilot, screen):
                assert "2 orphaned runs" in said(screen) and offered(screen)
                # Cancel (focused) changes nothing.
                screen.query_one("#mark", Button).press()
                await wait_for(pilot, lambda: dialog_ready(app))
                question = str(app.screen.query_one(".question", Static).render())
                for runid, pid, name in ((run_a, pid_a, "orphan-a"), (run_b, pid_b, "orphan-b")):
                    assert f"run {runid} {name} 'running', started " in question
                    assert f"its backend (pid {pid}) is gone" in question
                assert app.focused is not None and app.focused.id == "cancel"
                await pilot.press("enter")
                await wait_for(pilot, lambda: app.screen is screen)
                assert {r: row(c, r) for r in (run_a, run_b)} == before

                # Run b finishes while the confirmation is open: it is left alone.
                screen.query_one("#mark", Button).press()
                await wait_for(pilot, lambda: dialog_ready(app))
                c.sql("update cron.job_run_details set status = 'succeeded', end_time = now(), "
                      "return_message = 'done meanwhile' where runid = %s", [run_b])
                app.screen.query_one("#confirm", Button).press()
                await wait_for(pilot, lambda: "No orphaned run now." in said(screen))
                await wait_for(pilot, lambda: "1 run marked failed; 1 no longer orphaned, "
                                              "left alone" in toasts(app))
                entry = app.audit.tail(1)[0]
                assert entry["action"] == "mark failed" and entry["outcome"] == "ok"
                assert f"[{run_a}] marked failed; 1 left alone" in entry["detail"]
            status, message, ended = row(c, run_a)
            assert status == "failed" and ended
            assert message == (f"marked failed by postgres with cronjobs-tui: its backend "
                               f"(pid {pid_a}) is gone, nobody would finish it")
            assert row(c, run_b)[:2] == ("succeeded", "done meanwhile")

            # The update judges again: a running run whose backend is alive, a finished one
            # and one already marked are not marked (again).
            live = c.value("select pid from pg_stat_activity where backend_type = 'checkpointer'")
            live_run = insert_run(c, jobs[0], "running", datetime.now(timezone.utc), None, live)
            opts = ConnectOptions(dbname=c.conninfo)
            assert await maint.mark_orphans_failed(opts, [live_run, run_a, run_b]) == []
            assert row(c, live_run) == ("running", None, False)
            assert row(c, run_a) == (status, message, ended)
    finally:
        if standby is not None:
            standby.sandbox.destroy()
        _drop_role(c, reader.name)
