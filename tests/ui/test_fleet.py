"""The fleet view against three sandbox clusters, one of them stopped."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster, start_cluster
from tests.ui.conftest import wait_for
from tui import config, fleet
from tui.db import ConnectOptions
from tui.lab.sandbox import host_installation
from tui.plan import jobs_file
from tui.ui.app import CronJobsApp
from tui.ui.screens.fleet import FleetScreen
from tui.ui.screens.main import MainScreen

TIMEOUT = 4.0  # the fleet's per-profile deadline in these tests


def _postmaster(cluster: Cluster) -> int:
    return int((cluster.sandbox.host_datadir / "postmaster.pid").read_text().split()[0])


@pytest.fixture(scope="module")
def three() -> Iterator[list[Cluster]]:
    clusters = [start_cluster(host_installation()) for _ in range(3)]
    yield clusters
    for c in clusters:
        try:
            os.kill(_postmaster(c), signal.SIGCONT)
        except (OSError, ValueError):
            pass
        c.sandbox.destroy()


@pytest.fixture
def fleet_config(three: list[Cluster], tmp_path: Path) -> Path:
    alpha, beta, gamma = three
    path = tmp_path / "config.toml"
    path.write_text(
        f"fleet_timeout = {TIMEOUT}\nrefresh_interval = 0.5\n\n"
        f"[profiles.alpha]\ndsn = \"{alpha.conninfo}\"\n"
        f"jobs_file = \"{jobs_file.example_path()}\"\n\n"
        f"[profiles.beta-prod]\ndsn = \"{beta.conninfo}\"\n\n"
        f"[profiles.gamma]\ndsn = \"{gamma.conninfo}\"\n")
    return path


async def test_fleet_data_one_dead_server(three: list[Cluster], fleet_config: Path) -> None:
    """Stopped (pg_ctl stop): refused at once, the others answer in full."""
    alpha, beta, gamma = three
    gamma.sandbox.stop()
    try:
        settings, names = fleet.fleet_settings(str(fleet_config), [])
        assert names == ["alpha", "beta-prod", "gamma"]
        statuses = await asyncio.gather(*(fleet.probe(settings, n) for n in names))
    finally:
        gamma.sandbox.start()
        gamma.sandbox.wait_ready()
    a, b, g = statuses
    assert (a.state, b.state, g.state) == ("up", "up", "down")
    assert not g.reachable and "connection" in (g.error or "")
    assert "no answer within" not in (g.error or "")  # refused at once, not timed out
    assert a.scheduler_alive is True and a.pg_cron == alpha.pg_cron
    assert a.failures_24h == 0 and a.jobs == 2
    assert a.next_job in ("weekly-adapter-check", "daily-usage-rollup")
    # The seed's weekly job holds its key in clear; the example file reads it from Vault.
    assert a.drift == 1 and b.drift is None
    assert b.read_only and not a.read_only  # "prod" in the name: read-only by default
    # A failure in the last 24 hours is counted.
    jobid = beta.value("select jobid from cron.job where jobname = 'daily-usage-rollup'")
    beta.sql("insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
             "command, status, return_message, start_time, end_time) values (%s, "
             "nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'x', 'failed', 'boom', "
             "now(), now())", [jobid])
    assert (await fleet.probe(settings, "beta-prod")).failures_24h == 1


async def test_fleet_view_does_not_stall(three: list[Cluster], fleet_config: Path) -> None:
    """gamma's server process is stopped (SIGSTOP): it accepts connections and never
    answers. The live rows fill at once; gamma's shows unreachable after its deadline.
    Enter opens one database's screen, Escape comes back."""
    alpha, beta, gamma = three
    settings, names = fleet.fleet_settings(str(fleet_config), [])
    os.kill(_postmaster(gamma), signal.SIGSTOP)
    try:
        app = CronJobsApp(ConnectOptions(read_only=True), settings, fleet=names)
        async with app.run_test(size=(140, 30)) as pilot:
            assert isinstance(app.screen, FleetScreen)
            screen = app.screen
            table = screen.query_one("DataTable")
            assert table.row_count == 3
            await wait_for(pilot, lambda: screen.status["alpha"].state == "up"
                           and screen.status["beta-prod"].state == "up", timeout=TIMEOUT)
            # Not stalled: the live rows are filled while gamma's check is still waiting.
            assert screen.status["gamma"].state == "checking"
            await wait_for(pilot, lambda: screen.status["gamma"].state == "down",
                           timeout=TIMEOUT + 5)
            assert "no answer within" in (screen.status["gamma"].error or "")
            cells = [str(c) for c in table.get_row("gamma")]
            assert "UNREACHABLE" in cells[1]
            assert "in sync" not in str(table.get_row("alpha")[5])  # 1 change(s)

            # Enter on beta-prod: its full screen, read-only (its name says prod).
            await pilot.press("down", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                           and app.facts is not None)
            assert app.facts is not None and app.facts.server_port == beta.sandbox.port
            assert app.profile == "beta-prod" and app.read_only
            await wait_for(pilot, lambda: app.job_by_name("daily-usage-rollup") is not None)

            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
            assert app.profile is None

            # And alpha, writable, after coming back.
            await pilot.press("up", "enter")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen)
                           and app.facts is not None)
            assert app.facts is not None and app.facts.server_port == alpha.sandbox.port
            assert not app.read_only
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, FleetScreen))
    finally:
        os.kill(_postmaster(gamma), signal.SIGCONT)


def test_fleet_needs_profiles(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text("read_only = true\n")
    with pytest.raises(config.ConfigError, match="no profiles"):
        fleet.fleet_settings(str(path), [])
    path.write_text('[profiles.a]\ndsn = "dbname=x"\n')
    with pytest.raises(config.ConfigError, match="no profile named 'b'.*profiles: a"):
        fleet.fleet_settings(str(path), ["b"])
