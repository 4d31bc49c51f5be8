"""End to end with a real Alertmanager (Debian's prometheus-alertmanager on a free loopback
port): a job fails, watch opens an episode and Alertmanager shows the alert with its labels;
two watchers of the database make one alert, not two; the job succeeds, the alert resolves."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Cluster
from tests.insight.receivers import Alertmanager, one_pass, watch_for
from tests.insight.test_explain import insert_run
from tui.insight.deliver import Alertmanager as AlertmanagerReceiver
from tui.insight.watch import State

SECRET = "Zq8vTt3pLw1x"


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    if Alertmanager.BINARY is None:
        pytest.skip("prometheus-alertmanager is not installed (.ci/setup --test installs it)")
    am = Alertmanager(tmp_path / "alertmanager")
    yield am
    am.close()


def ours(am: Alertmanager, **params: str) -> list[dict[str, object]]:
    return [a for a in am.alerts(**params)
            if a["labels"].get("alertname") == "PgCronJobFailing"]  # type: ignore[union-attr]


async def test_alertmanager_shows_one_alert_and_its_resolution(
        fresh_cluster: Cluster, alertmanager: Alertmanager) -> None:
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    jobid = c.value("select cron.schedule('ledger-close', '0 3 1 1 *', 'SELECT 1')")
    now = c.value("select now()")
    receivers: list[Any] = [AlertmanagerReceiver(alertmanager.url)]
    one, two = State(), State()  # two watchers, run for redundancy: each its own state
    await one_pass(watch_for(c.conninfo, one, receivers, profile="prod"))
    await one_pass(watch_for(c.conninfo, two, receivers, profile="prod"))
    with c.connect() as conn:
        insert_run(conn, jobid, now, now + timedelta(seconds=1), "failed",
                   f"ERROR:  password authentication failed: postgresql://svc:{SECRET}@db/x")
    first = await one_pass(watch_for(c.conninfo, one, receivers, profile="prod"))
    assert [ch.state for ch in first.changes] == ["firing"] and first.undelivered == []
    alerts = ours(alertmanager)
    assert len(alerts) == 1
    alert = alerts[0]
    assert alert["labels"] == {"alertname": "PgCronJobFailing", "jobname": "ledger-close",
                               "database": "postgres", "profile": "prod",
                               "severity": "warning"}
    annotations = alert["annotations"]
    assert "failed" in annotations["summary"]  # type: ignore[index]
    assert annotations["explain"] == f"cronjobs-tui --profile prod explain '#{jobid}'"  # type: ignore[index]
    assert SECRET not in str(alert)
    assert alert["status"]["state"] == "active"  # type: ignore[index]

    # The second watcher sees the same failure: Alertmanager keeps one alert.
    second = await one_pass(watch_for(c.conninfo, two, receivers, profile="prod"))
    assert [ch.state for ch in second.changes] == ["firing"]
    assert len(ours(alertmanager)) == 1

    with c.connect() as conn:
        insert_run(conn, jobid, now + timedelta(seconds=2), now + timedelta(seconds=3),
                   "succeeded", "SELECT 1")
    for state in (one, two):
        err = io.StringIO()
        watch = watch_for(c.conninfo, state, receivers, profile="prod")
        watch.err = err
        done = await one_pass(watch)
        assert [ch.state for ch in done.changes] == ["resolved"]
        assert done.undelivered == [], err.getvalue()
    # Ended at the resolution, though the runs were written a second ahead of this clock.
    assert ours(alertmanager, active="true") == []
    # Alertmanager keeps a resolved alert a while: ended, not active.
    left = ours(alertmanager, active="false")
    assert all(a["status"]["state"] != "active" for a in left)  # type: ignore[index]
