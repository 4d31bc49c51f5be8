"""Our next runs against the real pg_cron scheduler: the start_time it records is when we said.

Waiting for a minute job costs up to a minute per version, so the jobs are scheduled first
(module fixtures, requested by the first test) and checked last; the tests in between run
while the scheduler waits for its minute.

DST: a clock change cannot be made to happen on a real server here (the scheduler reads the
system clock), so what is checked for real is that pg_cron 1.5+ evaluates schedules in its
cron.timezone the way next_runs does (a job at a Berlin wall-clock minute fires at that
minute), that the server reports the zone, and that the subcommand's server mode uses it.
Behaviour across a DST change itself is checked against our own reading of pg_cron's rules.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import Cluster, start_cluster
from tui.cron import next_runs
from tui.db import ConnectOptions, Database

pytestmark = pytest.mark.realtime  # waits for the scheduler's real minutes

BERLIN = "Europe/Berlin"
# As an operator may write it: PostgreSQL (and so pg_cron) finds zone names in any case.
BERLIN_SETTING = "europe/BERLIN"
# A whole number of hours: pg_tzset reads it as a POSIX offset, so '-3' is three hours ahead.
OFFSET_SETTING = "-3"
OFFSET = timezone(timedelta(hours=3))
SLACK = timedelta(seconds=5)  # pg_cron records start_time when the run starts, not at :00


@dataclass
class Planted:
    cluster: Cluster
    jobid: int
    expr: str
    created: datetime  # the server's now() when the job was committed
    zone: str
    predicted: list[datetime]


def _zone_of(cluster: Cluster) -> str:
    if cluster.pg_cron == "1.4":
        return "UTC"
    return str(cluster.value("select setting from pg_settings where name = 'cron.timezone'"))


def _plant(cluster: Cluster, name: str, expr: str, count: int = 3) -> Planted:
    jobid, created = cluster.sql("select cron.schedule(%s, %s, 'select 1'), now()",
                                 [name, expr])[0]
    zone = _zone_of(cluster)
    predicted = next_runs(expr, created, zone, count, version=cluster.pg_cron)
    return Planted(cluster, jobid, expr, created, zone, predicted)


def _remove(p: Planted) -> None:
    p.cluster.sql("select cron.unschedule(%s)", [p.jobid])
    p.cluster.sql("delete from cron.job_run_details where jobid = %s", [p.jobid])


def _starts(p: Planted, at_least: int, until: datetime) -> list[datetime]:
    """The recorded start_times of the job, waiting (by the server's clock) until `until`."""
    while True:
        rows = p.cluster.sql("select start_time, now() from cron.job_run_details "
                             "where jobid = %s and start_time is not null order by runid",
                             [p.jobid])
        starts = [r[0] for r in rows]
        now = p.cluster.value("select now()")
        if len(starts) >= at_least or now > until:
            return starts
        time.sleep(0.5)


def _away_from_the_minute(cluster: Cluster) -> None:
    """Within 10 s of a minute boundary, it is not clear which minute the scheduler takes:
    wait until it has passed."""
    second = cluster.value("select extract(second from now())")
    if second >= 50:
        time.sleep(62 - float(second))


@pytest.fixture(scope="module")
def minute_job(cluster: Cluster) -> Iterator[Planted]:
    _away_from_the_minute(cluster)
    p = _plant(cluster, "timing-every-minute", "* * * * *")
    yield p
    _remove(p)


@pytest.fixture(scope="module")
def berlin(cluster: Cluster) -> Iterator[Cluster]:
    if cluster.pg_cron == "1.4":
        pytest.skip("pg_cron 1.4 has no cron.timezone: it always evaluates schedules in UTC")
    c = start_cluster(cluster.sandbox.install, **{"cron.timezone": f"'{BERLIN_SETTING}'"})
    yield c
    c.sandbox.destroy()


@pytest.fixture(scope="module")
def offset_cluster(cluster: Cluster) -> Iterator[Cluster]:
    if cluster.pg_cron == "1.4":
        pytest.skip("pg_cron 1.4 has no cron.timezone: it always evaluates schedules in UTC")
    c = start_cluster(cluster.sandbox.install, **{"cron.timezone": f"'{OFFSET_SETTING}'"})
    yield c
    c.sandbox.destroy()


@pytest.fixture(scope="module")
def offset_jobs(offset_cluster: Cluster) -> Iterator[tuple[Planted, Planted]]:
    """The same minute read as UTC+3 (pg_tzset's POSIX reading of '-3', ours) and as UTC-3
    (what `SET timezone = '-3'` means): only the first may fire."""
    now = offset_cluster.value("select now()")
    target = (now + timedelta(seconds=75)).astimezone(OFFSET).replace(second=0, microsecond=0)
    other = target.astimezone(timezone(timedelta(hours=-3)))
    ours = _plant(offset_cluster, "timing-offset", f"{target.minute} {target.hour} * * *", 1)
    theirs = _plant(offset_cluster, "timing-offset-sql-sign", f"{other.minute} {other.hour} * * *",
                    1)
    assert ours.zone == OFFSET_SETTING and ours.predicted == [target]
    yield ours, theirs
    _remove(ours)
    _remove(theirs)


@pytest.fixture(scope="module")
def berlin_job(berlin: Cluster) -> Iterator[Planted]:
    """A job at one Berlin wall-clock minute (M H * * *) at least 15 s ahead: it fires only
    if the scheduler evaluates it in Europe/Berlin as we do."""
    now = berlin.value("select now()")
    # 15 to 75 s ahead; Berlin is never on UTC, so a UTC scheduler would not fire it then.
    target = (now + timedelta(seconds=75)).astimezone(ZoneInfo(BERLIN))
    target = target.replace(second=0, microsecond=0)
    p = _plant(berlin, "timing-berlin", f"{target.minute} {target.hour} * * *", count=1)
    assert p.zone == BERLIN_SETTING
    assert p.predicted == [target]
    yield p
    _remove(p)


def test_jobs_are_planted(minute_job: Planted, request: pytest.FixtureRequest) -> None:
    """Runs first: schedules the jobs the last tests check, so their wait overlaps the rest."""
    assert minute_job.predicted[0] > minute_job.created
    assert minute_job.predicted[0] - minute_job.created <= timedelta(minutes=1)
    if minute_job.cluster.pg_cron != "1.4":
        request.getfixturevalue("berlin_job")
        request.getfixturevalue("offset_jobs")


def test_interval_job_runs_every_n_seconds(cluster: Cluster) -> None:
    if cluster.pg_cron == "1.4":
        pytest.skip("'N seconds' schedules need pg_cron 1.5")
    p = _plant(cluster, "timing-seconds", "3 seconds", count=3)
    try:
        starts = _starts(p, 3, p.created + timedelta(seconds=30))
        assert len(starts) >= 3, f"only {starts} in 30 s"
        # The first run: about N seconds after the job exists, as next_runs approximates.
        assert abs(starts[0] - p.predicted[0]) <= SLACK, (starts, p.predicted)
        # From a recorded start, the next one is N seconds later.
        for prev, nxt in zip(starts, starts[1:]):
            (predicted,) = next_runs("3 seconds", prev, p.zone, 1, version=cluster.pg_cron,
                                     last_start=prev)
            assert abs(nxt - predicted) <= timedelta(seconds=2), (prev, nxt, predicted)
    finally:
        _remove(p)


def test_berlin_server_reports_its_zone(berlin: Cluster) -> None:
    async def facts() -> tuple[str | None, datetime]:
        db = Database(ConnectOptions(dbname=berlin.conninfo))
        try:
            f = await db.facts()
            return f.scheduler_timezone, f.now
        finally:
            await db.close()

    zone, _ = asyncio.run(facts())
    assert zone == BERLIN_SETTING


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "schedule", *args], capture_output=True,
                          text=True, timeout=60)


def test_schedule_command_in_berlin(berlin: Cluster) -> None:
    # Spring forward: 2027-03-28 02:30 does not exist in Berlin, so that day has no run.
    done = _cli("30 2 * * *", "--json", "-d", berlin.conninfo,
                "--from", "2027-03-26T12:00:00+01:00", "--count", "3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["next_runs"] == [
        "2027-03-27T02:30:00+01:00", "2027-03-29T02:30:00+02:00", "2027-03-30T02:30:00+02:00"]
    # A naive --from is a wall-clock time in the scheduler's zone.
    done = _cli("0 9 * * *", "--json", "-d", berlin.conninfo, "--from", "2026-07-01T09:00",
                "--count", "1")
    assert json.loads(done.stdout)["next_runs"] == ["2026-07-02T09:00:00+02:00"]
    # Default --from: the server's now; the human output names the zone.
    done = _cli("* * * * *", "-d", berlin.conninfo, "--count", "1")
    assert done.returncode == 0, done.stderr
    assert f"next runs ({BERLIN_SETTING}):" in done.stdout
    (line,) = [x for x in done.stdout.splitlines() if x.startswith("  20")]
    run = datetime.fromisoformat(line.split()[0])
    now = berlin.value("select now()")
    assert run.utcoffset() == now.astimezone(ZoneInfo(BERLIN)).utcoffset()
    assert now < run <= now + timedelta(minutes=1)


def test_fall_back_is_predicted_twice_in_berlin() -> None:
    """PG_CRON.md: inferred, not checked on a real clock change (see the module docstring).
    next_runs follows the launcher walking real minutes: 02:30 comes twice on 2026-10-25."""
    runs = next_runs("30 2 * * *", datetime(2026, 10, 24, 12, tzinfo=timezone.utc), BERLIN, 3)
    assert [r.isoformat() for r in runs] == [
        "2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00", "2026-10-26T02:30:00+01:00"]


def test_minute_job_starts_when_predicted(minute_job: Planted) -> None:
    first = minute_job.predicted[0]
    starts = _starts(minute_job, 1, first + timedelta(seconds=40))
    assert starts, f"no run of '* * * * *' by {first + timedelta(seconds=40)} (server clock)"
    assert first <= starts[0] <= first + SLACK, (starts[0], minute_job.predicted)


def test_berlin_job_starts_at_the_berlin_minute(berlin_job: Planted) -> None:
    (target,) = berlin_job.predicted
    starts = _starts(berlin_job, 1, target + timedelta(seconds=40))
    assert starts, f"no run of '{berlin_job.expr}' (Berlin) by {target} + 40 s"
    start = starts[0].astimezone(ZoneInfo(BERLIN))
    assert target <= start <= target + SLACK, (start, target)
    assert start.replace(second=0, microsecond=0) == target


def test_offset_job_starts_three_hours_ahead_of_utc(
        offset_jobs: tuple[Planted, Planted]) -> None:
    ours, theirs = offset_jobs
    (target,) = ours.predicted
    starts = _starts(ours, 1, target + timedelta(seconds=40))
    assert starts, f"no run of '{ours.expr}' (cron.timezone '-3' read as UTC+3) by {target}"
    assert target <= starts[0] <= target + SLACK, (starts[0], target)
    assert _starts(theirs, 1, target + timedelta(seconds=5)) == []
