"""Driving the real app with Pilot against a real cluster."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.screen import Screen

from tests.conftest import Cluster
from tui.config import Settings
from tui.db import ConnectOptions
from tui.ui.app import CronJobsApp
from tui.ui.screens.confirm import ConfirmScreen

NEVER = "0 0 31 2 *"  # 31 February: valid for pg_cron, never fires, so tests stay still


def unique(prefix: str = "ui") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def make_job(cluster: Cluster) -> Iterator[Callable[..., tuple[int, str]]]:
    made: list[int] = []

    def make(command: str = "select 1", schedule: str = NEVER) -> tuple[int, str]:
        name = unique()
        jobid = cluster.value("select cron.schedule(%s, %s, %s)", [name, schedule, command])
        made.append(jobid)
        return jobid, name

    yield make
    cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [made])


async def wait_for(pilot: Pilot[Any], condition: Callable[[], Any], timeout: float = 15) -> None:
    """Let the app work (workers, refreshes) until `condition()` holds."""
    steps = int(timeout / 0.05)
    for _ in range(steps):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {condition}")


def dialog_ready(app: CronJobsApp, kind: type[Screen[Any]] = ConfirmScreen) -> bool:
    """A dialog takes keys once it is in front and its mount has focused a button: between
    the two, Enter would go nowhere."""
    return isinstance(app.screen, kind) and app.focused is not None


@asynccontextmanager
async def running_app(cluster: Cluster, *, read_only: bool = False,
                      size: tuple[int, int] = (120, 40), **settings: Any
                      ) -> AsyncIterator[tuple[CronJobsApp, Pilot[Any]]]:
    app = CronJobsApp(ConnectOptions(dbname=cluster.conninfo, read_only=read_only),
                      Settings(refresh_interval=0.5, **settings))
    async with app.run_test(size=size) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        yield app, pilot


async def select_job(app: CronJobsApp, pilot: Pilot[Any], name: str) -> None:
    """As an operator would: `/`, type the name, Enter."""
    await wait_for(pilot, lambda: app.job_by_name(name) is not None)
    await pilot.press("slash", *name, "enter")
    await wait_for(pilot, lambda: (job := app.main.selected_job()) is not None
                   and job.jobname == name)
