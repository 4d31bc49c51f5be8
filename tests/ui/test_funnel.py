"""The one refusal funnel, reached through Textual's public paths: a worker's refusal is shown
and the app goes on; a bug ends the app with its traceback, as Textual does."""

from __future__ import annotations

import pytest
from textual import work

from tests.conftest import Cluster
from tests.ui.conftest import wait_for
from tui.config import Settings
from tui.db import ConnectOptions
from tui.ui.app import CronJobsApp


class WithAFailingWorker(CronJobsApp):
    """The real app, with one more worker that fails as it is told (test code, not ours)."""

    @work(group="actions", exit_on_error=False)
    async def fail_with(self, error: Exception) -> None:
        raise error


async def test_a_refusal_is_shown_and_a_bug_ends_the_app(cluster: Cluster) -> None:
    app = WithAFailingWorker(ConnectOptions(dbname=cluster.conninfo),
                             Settings(refresh_interval=0.5))
    with pytest.raises(ZeroDivisionError):
        async with app.run_test(size=(120, 40)) as pilot:
            await wait_for(pilot, lambda: app.facts is not None)
            app.fail_with(PermissionError("cannot write /etc/cron.export"))
            await wait_for(pilot, lambda: any(
                "cannot write /etc/cron.export" in n.message for n in app._notifications))
            assert app.is_running
            app.fail_with(ZeroDivisionError("a bug"))
            await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == 1
