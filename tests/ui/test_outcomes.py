"""An action on a job returns what it did (messages.Outcome), and the app hands it down: the
screens show it without the action writing into any widget."""

from __future__ import annotations

from collections.abc import Callable

from textual.widgets import Input, TextArea

from tests.conftest import Cluster
from tests.ui.conftest import NEVER, running_app, select_job, unique, wait_for
from tui.ui.screens.confirm import TypeNameScreen
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.form import JobFormScreen
from tui.ui.screens.main import MainScreen


async def test_a_job_created_gets_the_cursor(cluster: Cluster) -> None:
    name = unique("made")
    try:
        async with running_app(cluster) as (app, pilot):
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
            form = app.screen
            await pilot.press(*name)
            form.query_one("#schedule", Input).value = NEVER
            form.query_one("#command", TextArea).text = "select 3"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
            # Sorted by id it is the last row; the outcome put the cursor on it.
            await wait_for(pilot, lambda: (job := app.main.selected_job()) is not None
                           and job.jobname == name)
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobname = %s", [name])


async def test_a_job_deleted_from_its_detail_closes_it(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, TypeNameScreen))
        await pilot.press(*name, "enter")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))
        await wait_for(pilot, lambda: app.job_by_id(jobid) is None)
        assert cluster.value("select count(*) from cron.job where jobid = %s", [jobid]) == 0
