"""The maintenance screen's daily purge, driven as an operator would on a real cluster."""

from __future__ import annotations

import re

from textual.widgets import Button, Input, Static

from tests.conftest import Cluster
from tests.ui.conftest import dialog_ready, running_app, wait_for
from tui.db import maintenance as maint


async def test_schedule_daily_purge_makes_the_job_it_showed(cluster: Cluster) -> None:
    try:
        async with running_app(cluster) as (app, pilot):
            await pilot.press("m")
            await wait_for(pilot, lambda: app.screen.query("#days"))
            screen = app.screen
            screen.query_one("#days", Input).value = "45"
            screen.query_one("#schedule", Button).press()
            await wait_for(pilot, lambda: dialog_ready(app))
            # Cancel takes the focus as the dialog mounts (a moment later on a busy machine).
            await wait_for(pilot, lambda: app.focused is not None and app.focused.id == "cancel")
            app.screen.query_one("#confirm", Button).press()
            await wait_for(pilot, lambda: "Scheduled as job #" in str(
                screen.query_one("#status", Static).render()))
            said = str(screen.query_one("#status", Static).render())
        rows = cluster.sql("select jobid, schedule, command from cron.job where jobname = %s",
                           [maint.PURGE_JOB_NAME])
        assert len(rows) == 1
        jobid, schedule, command = rows[0]
        assert re.search(rf"#{jobid}\b", said)
        assert schedule == maint.PURGE_JOB_SCHEDULE
        assert command == maint.purge_command(45).as_string(None)
        assert "'45 days'" in command
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobname = %s",
                    [maint.PURGE_JOB_NAME])
