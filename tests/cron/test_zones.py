"""cron.timezone as PostgreSQL reads it: any case, aliases, POSIX strings, whole-hour numbers.

The judge is the server. PostgreSQL's `timezone` setting goes through the same pg_tzset() as
pg_cron's cron.timezone for every text that is not a number, so for those spellings our
offsets are compared with the server's own at instants around daylight-saving changes.
Numbers, which the two settings read with opposite signs, are checked against the real
scheduler in test_scheduler_timing.py. Clusters whose cron.timezone is spelled in lower
case, or is a value we cannot reproduce, must still show every job, in the TUI and in
`jobs --json`.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from tests.conftest import Cluster, start_cluster
from tests.ui.conftest import running_app, wait_for
from tui.cron import UnknownZone, next_runs, resolve_zone, zone_problem
from tui.ui.widgets.line import Line

# Instants around the changes of Europe, the United States, Lord Howe (30 min) and tzcode's
# default rule, in both halves of the year, and far from now.
INSTANTS = [datetime(y, m, d, h, 30, tzinfo=timezone.utc) for (y, m, d, h) in (
    (2026, 1, 15, 12), (2026, 3, 8, 6), (2026, 3, 8, 7), (2026, 3, 29, 0), (2026, 3, 29, 1),
    (2026, 7, 1, 12), (2026, 10, 25, 0), (2026, 10, 25, 1), (2026, 11, 1, 5), (2026, 11, 1, 6),
    (2027, 4, 3, 15), (2027, 4, 3, 16), (2030, 12, 31, 23))]

# Spellings people write into postgresql.conf, as the server would be given them.
SPELLINGS = [
    "europe/berlin", "EUROPE/BERLIN", "Europe/Berlin", "america/new_YORK", "asia/kolkata",
    "australia/lord_howe", "UTC", "utc", "GMT", "gmt", "Etc/UTC", "etc/utc", "Etc/GMT-3",
    "etc/gmt+5", "UCT", "Universal", "Zulu", "EST5EDT", "cet", ":Europe/Berlin", ":utc",
    "UTC+3", "utc+3", "UTC-05:30", "<+03>-3", "<-0330>3:30", "CET-1CEST,M3.5.0,M10.5.0/3",
    "cet-1cest,m3.5.0,m10.5.0/3", "AAA3BBB", "EST5EDT4,M3.2.0/2,M11.1.0/2",
]


def server_offsets(cluster: Cluster, name: str) -> list[timedelta] | None:
    """The server's UTC offsets at INSTANTS with `timezone` set to `name`; None if refused."""
    with cluster.connect() as conn, conn.transaction():
        try:
            with conn.transaction():
                conn.execute("select set_config('timezone', %s, true)", [name])
        except psycopg.errors.InvalidParameterValue:
            return None
        rows = conn.execute(
            "select extract(timezone from t)::int from unnest(%s::timestamptz[]) as t",
            [INSTANTS]).fetchall()
    return [timedelta(seconds=r[0]) for r in rows]


@pytest.mark.parametrize("name", SPELLINGS)
def test_our_zone_matches_the_servers(cluster: Cluster, name: str) -> None:
    expected = server_offsets(cluster, name)
    if expected is None:
        # The server refuses it (Debian 13 moved Zulu and friends to tzdata-legacy): a
        # cron.timezone it refuses falls back to GMT, so it never reaches us.
        pytest.skip(f"this server's tz database has no {name!r}")
    zone = resolve_zone(name)
    assert [t.astimezone(zone).utcoffset() for t in INSTANTS] == expected


@pytest.mark.parametrize("name", ["Mars/Olympus", "Europe/Berlinn", ":UTC+3", ""])
def test_names_neither_knows_are_unknown_on_both_sides(cluster: Cluster, name: str) -> None:
    assert server_offsets(cluster, name) is None
    assert zone_problem(name) is not None
    with pytest.raises(UnknownZone):
        next_runs("0 3 * * *", INSTANTS[0], name, 1)


def test_numbers_follow_pg_tzset_not_set_timezone() -> None:
    # pg_cron hands '-3' to pg_tzset, a POSIX offset: three hours ahead of UTC (measured with
    # the scheduler, see test_scheduler_timing.py), unlike SET timezone = '-3'.
    assert INSTANTS[0].astimezone(resolve_zone("-3")).utcoffset() == timedelta(hours=3)
    assert INSTANTS[0].astimezone(resolve_zone("+5")).utcoffset() == timedelta(hours=-5)
    assert "fraction of hours" in (zone_problem("5.5") or "")


def test_mixed_case_gives_the_same_runs() -> None:
    after = datetime(2026, 10, 24, 12, tzinfo=timezone.utc)
    assert next_runs("30 2 * * *", after, "EUROPE/berlin", 3) == next_runs(
        "30 2 * * *", after, "Europe/Berlin", 3)


# -- clusters whose cron.timezone is spelled as operators spell it -------------------------

def _zoned(cluster: Cluster, setting: str) -> Iterator[Cluster]:
    if cluster.pg_cron == "1.4":
        pytest.skip("pg_cron 1.4 has no cron.timezone: it always evaluates schedules in UTC")
    c = start_cluster(cluster.sandbox.install, **{"cron.timezone": f"'{setting}'"})
    yield c
    c.sandbox.destroy()


@pytest.fixture(scope="module")
def lower_berlin(cluster: Cluster) -> Iterator[Cluster]:
    yield from _zoned(cluster, "europe/berlin")


@pytest.fixture(scope="module")
def fraction(cluster: Cluster) -> Iterator[Cluster]:
    # The server accepts '5.5' for the setting; what pg_cron makes of it we do not reproduce.
    yield from _zoned(cluster, "5.5")


def jobs_json(cluster: Cluster) -> list[dict]:
    done = subprocess.run([sys.executable, "-m", "tui", "jobs", "--json", "-d", cluster.conninfo],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_jobs_json_with_a_lower_case_zone(lower_berlin: Cluster) -> None:
    assert lower_berlin.value(
        "select setting from pg_settings where name = 'cron.timezone'") == "europe/berlin"
    now = lower_berlin.value("select now()")
    jobs = {j["jobname"]: j for j in jobs_json(lower_berlin)}
    daily = jobs["daily-usage-rollup"]  # 5 0 * * *: 00:05 in Berlin
    when = datetime.fromisoformat(daily["next_run"])
    assert when == next_runs("5 0 * * *", now, "Europe/Berlin", 1)[0]
    assert when.utcoffset() in (timedelta(hours=1), timedelta(hours=2))
    assert (when.hour, when.minute) == (0, 5)
    assert daily["warnings"] == []


def test_jobs_json_with_a_zone_we_cannot_read(fraction: Cluster) -> None:
    jobs = jobs_json(fraction)
    assert {j["jobname"] for j in jobs} >= {"daily-usage-rollup", "weekly-adapter-check"}
    for job in jobs:
        assert job["next_run"] is None
        assert any("'5.5'" in w for w in job["warnings"]), job["warnings"]


async def _table_and_title(cluster: Cluster) -> tuple[int, str]:
    async with running_app(cluster) as (app, pilot):
        table = app.main.jobs_table
        await wait_for(pilot, lambda: table.row_count >= 2)
        title = str(app.main.query_one("#jobs-title", Line).shown)
        return table.row_count, title


async def test_tui_lists_jobs_with_a_lower_case_zone(lower_berlin: Cluster) -> None:
    rows, title = await _table_and_title(lower_berlin)
    assert rows >= 2
    assert "next runs in europe/berlin" in title


async def test_tui_lists_jobs_and_names_a_zone_it_cannot_read(fraction: Cluster) -> None:
    async with running_app(fraction) as (app, pilot):
        table = app.main.jobs_table
        await wait_for(pilot, lambda: table.row_count >= 2)
        title = str(app.main.query_one("#jobs-title", Line).shown)
        assert "unknown time zone '5.5'" in title
        # Refreshes go on without an error: the header is not in an error state.
        await pilot.pause(1.5)
        assert table.row_count >= 2
        assert app.facts is not None and app.facts.cron_timezone == "5.5"
