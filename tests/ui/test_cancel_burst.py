"""Workers cancelled in bursts (Textual cancels them routinely) never cost the app its one
session: counted on the server, in pg_stat_activity, by the app's own application_name."""

from __future__ import annotations

import uuid

import psycopg

from tests.conftest import Cluster
from tests.ui.conftest import wait_for
from tui.config import Settings
from tui.db import ConnectOptions
from tui.ui.app import CronJobsApp
from tui.ui.screens.doctor import DoctorScreen
from tui.ui.screens.main import MainScreen


def backends(cluster: Cluster, name: str) -> list[tuple[int, str, str]]:
    """(pid, state, query) of each session named `name`, but the one asking."""
    return [tuple(row) for row in cluster.sql(
        "select pid, state, query from pg_stat_activity "
        "where application_name = %s and pid <> pg_backend_pid()", [name])]


async def test_a_burst_of_cancelled_workers_keeps_the_one_session(cluster: Cluster) -> None:
    name = f"burst-{uuid.uuid4().hex[:8]}"
    app = CronJobsApp(ConnectOptions(dbname=f"{cluster.conninfo} application_name={name}"),
                      Settings(refresh_interval=0.3))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        ((pid, _, _),) = backends(cluster, name)
        with psycopg.connect(cluster.conninfo) as locker:
            # Every read of the runs waits behind this lock: each `f` (the run stream
            # restarted, in the refresh's exclusive group) cancels a statement in flight.
            locker.execute("lock table cron.job_run_details in access exclusive mode")
            seen = set()
            for _ in range(6):
                for _ in range(10):
                    await pilot.press("f")
                now = backends(cluster, name)
                seen |= {p for p, _, _ in now}
                # The cancelled statements are gone from the server, not waiting there.
                assert len([p for p, state, _ in now if state == "active"]) <= 1
            locker.rollback()
        reads = app.jobs_tracker.reads
        await wait_for(pilot, lambda: app.jobs_tracker.reads >= reads + 2, 60)  # refreshing
        assert seen == {pid}
        assert [p for p, _, _ in backends(cluster, name)] == [pid]


async def test_a_report_reads_on_a_session_of_its_own(cluster: Cluster) -> None:
    """The doctor reads apart from the refresh, and its session ends with its screen, even
    when it is closed in the middle of its checks."""
    name = f"apart-{uuid.uuid4().hex[:8]}"
    app = CronJobsApp(ConnectOptions(dbname=f"{cluster.conninfo} application_name={name}"),
                      Settings(refresh_interval=0.3))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        ((pid, _, _),) = backends(cluster, name)
        for _ in range(5):
            await pilot.press("exclamation_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
            await pilot.pause(0.05)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        doctor = app.screen
        assert isinstance(doctor, DoctorScreen)
        await wait_for(pilot, lambda: len(backends(cluster, name)) == 2, 60)  # its own session
        await wait_for(pilot, lambda: "checking" not in str(doctor.body.render()), 60)
        await pilot.press("escape")
        await wait_for(pilot, lambda: [p for p, _, _ in backends(cluster, name)] == [pid], 60)



async def test_a_refresh_cancelled_before_it_began_leaves_the_loop_going(cluster: Cluster) -> None:
    """`f` pressed as the timer fires: the refresh's worker is cancelled before its first step
    (so before its `finally`, which arms the next one); the stream's restart arms it."""
    app = CronJobsApp(ConnectOptions(dbname=cluster.conninfo), Settings(refresh_interval=0.3))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        await pilot.pause(0.5)
        assert app._timer is not None
        app._timer.stop()  # as when it fires: the refresh it starts is all that is pending
        app.refresh_data()
        app.restart_stream()  # in the same turn of the loop: the refresh never starts
        reads = app.jobs_tracker.reads
        await wait_for(pilot, lambda: app.jobs_tracker.reads >= reads + 3)
