"""@yearly / @annually on pg_cron 1.6: accepted by the server, never fired (entry.c sets no
month for them since 1.6.0). Shown as never firing, with the fix, wherever a schedule is shown;
on 1.4 (and 1.5) they fire on 1 January and are shown so."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from tests.conftest import Cluster
from tests.ui.conftest import running_app, select_job, unique, wait_for
from tui.cron import check, describe, next_runs
from tui.ui.screens.detail import JobDetailScreen

FIX = "0 0 1 1 *"
AFTER = datetime(2026, 5, 5, 10, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize("macro", ["@yearly", "@annually"])
@pytest.mark.parametrize("version", ["1.6", "1.6.0", "1.6.4", "1.6.5"])
def test_never_fires_on_16_with_the_fix(macro: str, version: str) -> None:
    verdict = check(macro, version)
    assert verdict.valid
    assert len(verdict.warnings) == 1 and FIX in verdict.warnings[0]
    assert next_runs(macro, AFTER, "UTC", 3, version=version) == []
    assert describe(macro, version).startswith("never")


@pytest.mark.parametrize("version", ["1.4", "1.5", "1.5.2"])
def test_fires_on_1_january_before_16(version: str) -> None:
    assert check("@yearly", version).warnings == ()
    assert [r.isoformat() for r in next_runs("@annually", AFTER, "UTC", 2, version=version)] == [
        "2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"]


def test_the_step_check_came_with_165() -> None:
    for version in ("1.4", "1.5", "1.6.0", "1.6.4"):
        verdict = check("*/60 * * * *", version)
        assert verdict.valid and "selects only 0" in verdict.warnings[0], version
    for version in ("1.6.5", "1.6.7", "1.6"):
        assert not check("*/60 * * * *", version).valid, version
        assert not check("0 0 */32 * *", version).valid, version


def test_schedule_command_takes_a_release() -> None:
    def schedule(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "tui", "schedule", *args],
                              capture_output=True, text=True, timeout=60)

    assert schedule("*/60 * * * *", "--pg-cron", "1.6.4").returncode == 0
    done = schedule("*/60 * * * *", "--pg-cron", "1.6.5", "--json")
    assert done.returncode == 1 and "1.6.5" in json.loads(done.stdout)["warnings"][0]
    done = schedule("@yearly", "--pg-cron", "1.6.4", "--from", "2026-05-05T10:30Z")
    assert done.returncode == 0
    assert FIX in done.stdout
    # Ordinary cron runs it on 1 January, so both readings are shown: pg_cron's side is empty.
    lines = done.stdout.splitlines()
    header = lines.index("next runs (UTC):") + 1
    assert lines[header].split() == ["pg_cron", "|", "ordinary", "cron"]
    assert lines[header + 1].split("|")[0].strip() == "none"
    # Said once: the verdict's warning, not ordinary cron's reason again.
    assert done.stdout.count("never fires") == 1
    assert lines[header + 1].split("|")[1].split()[0] == "2027-01-01T00:00:00+00:00"
    done = schedule("@yearly", "--pg-cron", "1.5", "--from", "2026-05-05T10:30Z", "--count", "1")
    assert "2027-01-01T00:00:00+00:00" in done.stdout and FIX not in done.stdout
    for bad in ("1.6.x", "2.0", "1.6.4.1", "1.7"):
        done = schedule("@daily", "--pg-cron", bad)
        assert done.returncode == 2 and "--pg-cron" in done.stderr, bad


@pytest.fixture
def yearly_job(cluster: Cluster) -> Iterator[tuple[int, str]]:
    name = unique("yearly")
    jobid = cluster.value("select cron.schedule(%s, '@yearly', 'select 1')", [name])
    yield jobid, name
    cluster.sql("select cron.unschedule(%s)", [jobid])


def test_jobs_json_says_never_on_16(cluster: Cluster, yearly_job: tuple[int, str]) -> None:
    done = subprocess.run([sys.executable, "-m", "tui", "jobs", "--json", "-d", cluster.conninfo],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    (job,) = [j for j in json.loads(done.stdout) if j["jobname"] == yearly_job[1]]
    if cluster.pg_cron == "1.6":
        assert job["next_run"] is None and FIX in job["warnings"][0]
    else:
        assert job["next_run"].startswith(f"{datetime.now(timezone.utc).year + 1}-01-01T00:00")
        assert job["warnings"] == []


async def test_tui_says_never_and_gives_the_fix(cluster: Cluster,
                                                yearly_job: tuple[int, str]) -> None:
    jobid, name = yearly_job
    async with running_app(cluster) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_name(name) is not None)
        table = app.main.jobs_table
        cell = table.get_cell(str(jobid), "next").plain
        await select_job(app, pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.pause(0.3)
        group = app.screen.query_one("#upcoming").content  # type: ignore[attr-defined]
        upcoming = "\n".join(line.plain for line in group.renderables)
    if cluster.pg_cron == "1.6":
        assert cell == "never"
        assert "never" in upcoming and FIX in upcoming
    else:
        assert cell.startswith("in ")
        assert FIX not in upcoming
