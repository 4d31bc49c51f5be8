"""What goes up: a widget asks its screen by a message, never by calling the app."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Cluster
from tests.ui.conftest import wait_for
from tui.config import Settings
from tui.db import ConnectOptions
from tui.ui.app import CronJobsApp


async def test_a_narrower_terminal_redraws_the_jobs_in_their_new_columns(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    # No refresh after the first: only the table's message can draw the rows again.
    app = CronJobsApp(ConnectOptions(dbname=cluster.conninfo), Settings(refresh_interval=3600))
    async with app.run_test(size=(150, 40)) as pilot:  # wide enough for every column
        table = app.main.jobs_table
        await wait_for(pilot, lambda: str(jobid) in table.rows)
        assert "describe" in [c.key for c in table.columns]
        await pilot.resize_terminal(80, 24)
        # The table dropped columns and said so (JobsColumnsChanged): the screen drew the
        # jobs again, each row built for the new columns.
        await wait_for(pilot, lambda: "describe" not in [c.key for c in table.columns])
        await wait_for(pilot, lambda: str(jobid) in table.rows)
        assert name in table.get_cell(str(jobid), "name").plain
        assert len(table.row_cells(str(jobid))) == len(table.columns)
