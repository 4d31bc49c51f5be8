"""`cron.match_dom_and_dow` (pg_cron master after 1.6.7, commit 36f1b33): next runs as a server
with the setting on fires them.

What the setting does, from master's source (pg_cron-master-16618e6):
  src/pg_cron.c:355-363  DefineCustomBoolVariable("cron.match_dom_and_dow", ...,
                         &CronDomDowAndLogic, false, PGC_SIGHUP, GUC_SUPERUSER_ONLY, ...)
  src/pg_cron.c:1017-1022 in ShouldRunTask():
      bit_test(minute) && bit_test(hour) && bit_test(month) &&
      ((CronDomDowAndLogic || (schedule->flags & (DOM_STAR | DOW_STAR)) != 0)
           ? (thisdom && thisdow) : (thisdom || thisdow))
so with the setting on both day fields must match whatever their first character; the
parser (entry.c) is untouched, so what is accepted does not change.

The real master build fires the jobs here: with the setting on, jobs whose day fields match
today by one field only must stay silent while the one matching by both fires, minute by minute,
exactly where our engine says.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

import pytest

from tests.conftest import Cluster, start_cluster
from tests.test_release import facts_of
from tui.cron import check, describe, next_runs, resolve_zone, with_dom_and_dow
from tui.lab.sandbox import vendor_installations

AND = with_dom_and_dow("1.6", True)
MASTER = [i for i in vendor_installations() if i.release == "master"]


def fires_at(expr: str, minute: datetime, version: str, tz: str = "UTC") -> bool:
    return next_runs(expr, minute - timedelta(microseconds=1), tz, 1, version=version) == [
        minute]


# -- offline: the rule --------------------------------------------------------------------


@pytest.mark.parametrize(("expr", "on_and", "on_or"), [
    # 1 December 2026 is a Tuesday.
    ("0 9 1 * MON", False, True),   # day 1, not a Monday: either field is enough without it
    ("0 9 1 * TUE", True, True),    # both match
    ("0 9 15 * TUE", False, True),  # a Tuesday, not the 15th
    ("0 9 1-7 * 1", False, True),   # "first Monday of the month" as operators write it
    ("0 9 * * MON", False, False),  # '*' already meant AND: nothing changes
    ("0 9 */2 * TUE", True, True),  # day 1 is odd and a Tuesday: AND either way
    ("0 9 $ * TUE", False, True),   # not the last day; '$' is no '*'
])
def test_the_setting_makes_both_day_fields_needed(expr: str, on_and: bool, on_or: bool) -> None:
    minute = datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert fires_at(expr, minute, AND) is on_and
    assert fires_at(expr, minute, "1.6") is on_or


def test_first_monday_fires_only_on_first_mondays() -> None:
    runs = next_runs("0 9 1-7 * MON", datetime(2026, 11, 29, tzinfo=timezone.utc), "UTC", 4,
                     version=AND)
    assert [r.date().isoformat() for r in runs] == [
        "2026-12-07", "2027-01-04", "2027-02-01", "2027-03-01"]
    assert all(r.weekday() == 0 and r.day <= 7 for r in runs)


def test_a_schedule_that_can_no_longer_fire() -> None:
    # 31 February never comes, and with AND the weekday cannot rescue it.
    assert next_runs("0 0 30,31 2 MON", datetime(2026, 1, 1, tzinfo=timezone.utc), "UTC", 1,
                     version=AND) == []
    assert next_runs("0 0 30,31 2 MON", datetime(2026, 1, 1, tzinfo=timezone.utc), "UTC", 1,
                     version="1.6") != []
    assert "never" in describe("0 0 30,31 2 MON", AND)


def test_the_verdict_does_not_change_but_the_warning_does() -> None:
    on, off = check("0 9 1 * MON", AND), check("0 9 1 * MON", "1.6")
    assert on.valid and off.valid
    assert any("match_dom_and_dow is on" in w for w in on.warnings)
    assert not any("match_dom_and_dow" in w for w in off.warnings)
    assert "both day fields must match" in describe("0 9 1 * MON", AND)
    assert not check("5/15 * * * *", AND).valid  # rejected as without the setting


# -- the real master build ----------------------------------------------------------------


@pytest.fixture(scope="module")
def master_on() -> Iterator[Cluster]:
    if not MASTER:
        pytest.skip("no pg_cron master build from ../shared/vendor (absent here, or "
                    ".ci/build-vendor not run): cron.match_dom_and_dow is not run for real")
    c = start_cluster(MASTER[0], **{"cron.match_dom_and_dow": "on"})
    yield c
    c.sandbox.destroy()


def test_the_release_carries_the_setting_into_the_engine(master_on: Cluster) -> None:
    facts = facts_of(master_on)
    assert facts.pg_cron_release is not None and facts.pg_cron_release.match_dom_and_dow
    assert facts.pg_cron_grammar == AND


def test_jobs_and_schedule_subcommands_use_the_setting(master_on: Cluster) -> None:
    """`jobs --json` (the jobs table's next-run cache) and `schedule` in server mode."""
    expr = "0 9 1 * MON"
    jobid = master_on.value("select cron.schedule('monthly-monday-report', %s, 'select 1')",
                            [expr])
    try:
        now = master_on.value("select now()")
        listed = _cli("jobs", "--json", "-d", master_on.conninfo)
        row = next(j for j in listed if j["jobid"] == jobid)
        assert datetime.fromisoformat(row["next_run"]) == \
            next_runs(expr, now, "GMT", 1, version=AND)[0]
        assert datetime.fromisoformat(row["next_run"]) != \
            next_runs(expr, now, "GMT", 1, version="1.6")[0]
        answer = _cli("schedule", expr, "--json", "-d", master_on.conninfo)
        runs = [datetime.fromisoformat(r) for r in answer["next_runs"]]
        # Only Mondays that are 1sts; with the setting off the next five hold other days.
        assert len(runs) == 5 and all(r.weekday() == 0 and r.day == 1 for r in runs)
        assert any("match_dom_and_dow is on" in w for w in answer["warnings"])
        assert answer["standard_cron"]["differs"] is True
    finally:
        master_on.sql("select cron.unschedule(%s)", [jobid])


def _cli(*args: str) -> Any:
    done = subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.mark.realtime  # minute by minute
def test_master_fires_as_the_engine_says(master_on: Cluster) -> None:
    c = master_on
    assert c.value("show cron.match_dom_and_dow") == "on"
    zone = str(c.value("select setting from pg_settings where name = 'cron.timezone'"))
    now = c.value("select now()").astimezone(timezone.utc)
    today = now.astimezone(_zone(zone))
    dom, dow = today.day, (today.weekday() + 1) % 7
    other_dom, other_dow = (dom % 28) + 1, (dow + 3) % 7
    plan = {
        "control": "* * * * *",
        "dom-only": f"* * {dom} * {other_dow}",
        "dow-only": f"* * {other_dom} * {dow}",
        "both": f"* * {dom} * {dow}",
        "star-and": f"* * */1 * {other_dow}",
    }
    with c.connect() as conn, conn.transaction():  # one change: the launcher loads all at once
        ids = {name: conn.execute("select cron.schedule(%s, %s, 'select 1')",
                                  [f"dom-dow-{name}", expr]).fetchone()[0]
               for name, expr in plan.items()}
    try:
        minutes = _minutes_run(c, ids["control"], 2, timeout=200)
        assert len(minutes) >= 2, "the scheduler fired no job for two minutes"
        first = minutes[0]  # every job was known to the launcher from this minute on
        ran = {name: first in _minutes_run(c, jobid, 0, timeout=0)
               for name, jobid in ids.items()}
        expected = {name: fires_at(expr, first, AND, zone) for name, expr in plan.items()}
        assert ran == expected
        if first.astimezone(_zone(zone)).date() == today.date():
            # The test can tell: with the setting off, pg_cron would have fired these.
            assert ran["both"] and not ran["dom-only"] and not ran["dow-only"]
            assert fires_at(plan["dom-only"], first, "1.6", zone)
            assert fires_at(plan["dow-only"], first, "1.6", zone)
    finally:
        for jobid in ids.values():
            c.sql("select cron.unschedule(%s)", [jobid])


def _zone(name: str) -> tzinfo:
    return resolve_zone(name)


def _minutes_run(c: Cluster, jobid: int, at_least: int, timeout: float) -> list[datetime]:
    """The distinct minutes in which the job started, waiting until there are ``at_least``."""
    deadline = time.monotonic() + timeout
    while True:
        rows = c.sql("select distinct date_trunc('minute', start_time) as m "
                     "from cron.job_run_details where jobid = %s and start_time is not null "
                     "order by m", [jobid])
        minutes = [r[0].astimezone(timezone.utc) for r in rows]
        if len(minutes) >= at_least or time.monotonic() > deadline:
            return minutes
        time.sleep(1)
