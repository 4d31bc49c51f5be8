"""Ordinary cron's reading (croniter) beside pg_cron's: `tui.cron.standard`, the `schedule`
subcommand's side-by-side runs, and the job detail's one line.

The corpus is schedules as operators write them in crontabs and in pg_cron jobs, each with
whether ordinary cron runs it otherwise, worked out by hand from crontab(5), POSIX and
pg_cron's entry.c/ShouldRunTask. Which of them the server accepts is the server's word: the
comparison exists exactly for the schedules the real pg_cron accepts.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import Cluster
from tests.cron.strategies import expressions, operator_expressions
from tests.cron.test_differential import NAME, ServerJudge
from tui.cron import next_runs, parse
from tui.cron.standard import COMPARED_RUNS, compare

NOW = datetime(2026, 11, 29, 22, 7, tzinfo=timezone.utc)  # a Sunday
EXAMPLES = 300

# (schedule, does ordinary cron run it otherwise on pg_cron 1.6): None where pg_cron rejects it
# or it runs at server start only (nothing to compare).
CORPUS: list[tuple[str, bool | None]] = [
    ("*/5 * * * *", False),
    ("* * * * *", False),
    ("0 * * * *", False),
    ("15 3 * * *", False),
    ("0 2 * * 0", False),
    ("5 4 * * sun", False),
    ("0 0 * * 7", False),                 # 7 is Sunday too
    ("30 4 * * 1-5", False),
    ("0 9-17 * * MON-FRI", False),
    ("*/15 9-18 * * 1-5", False),
    ("0 */6 * * *", False),
    ("0 0,12 * * *", False),
    ("0 3 * * 1,3,5", False),
    ("0 8 * * 1-5/2", False),
    ("0 0 1 * *", False),
    ("0 0 1,15 * *", False),
    ("0 0 1 */3 *", False),               # quarterly
    ("0 1 1 JAN,APR,JUL,OCT *", False),
    ("0 12 * JAN-MAR MON", False),
    ("0 0 29 2 *", False),                # leap days only, on both
    ("0 0 31 2 *", False),                # never, on both
    ("0 0 15 * 5", False),                # the 15th or a Friday: both read OR
    ("0 0 1-7 * 1", False),               # "first Monday" by mistake: OR on both
    ("0 0 1-31/2 * 1", False),            # no '*' first: OR on both
    ("0 0 * * */2", False),
    ("0 5 * * * pg_dump -Fc shop > /backups/shop.dump", False),  # the rest is the command
    ("0 6 * * 1-5 ", False),
    ("@hourly", False),
    ("@daily", False),
    ("@midnight", False),
    ("@weekly", False),
    ("@monthly", False),
    ("0 0 $ * *", False),                 # in UTC the look-ahead is the calendar
    ("@yearly", True),                    # never fires on 1.6
    ("@annually", True),
    ("0 0 */2 * 1", True),                # '*/2' first: pg_cron (Vixie) AND, POSIX OR
    ("0 0 * * MON#1", True),              # pg_cron: every Monday
    ("0 9 * * 1#2", True),
    ("0 0 * * SAT-SUN", True),            # never on pg_cron
    ("30 seconds", True),                 # no cron has it
    ("@reboot", None),
    ("0 0 L * *", None),                  # Quartz's last day: pg_cron rejects
    ("0 0 ? * *", None),
    ("0/15 * * * *", None),
    ("0 0 12 * * ?", False),              # Quartz's noon: both read 00:00 on the 12th
]
ON_1_4 = {"@yearly": False, "@annually": False, "0 0 $ * *": None, "30 seconds": None}


def _expected(expr: str, version: str) -> bool | None:
    if version == "1.4" and expr in ON_1_4:
        return ON_1_4[expr]
    return dict(CORPUS)[expr]


@pytest.mark.parametrize(("expr", "differs"), CORPUS, ids=lambda v: repr(v))
def test_corpus_offline(expr: str, differs: bool | None) -> None:
    got = compare(expr, NOW, "UTC", 5)
    assert (None if got is None else got.differs) is differs
    if got is not None:
        assert list(got.pg_cron) == next_runs(expr, NOW, "UTC", 5)
        assert bool(got.reasons) == got.differs


@pytest.mark.smoke  # croniter
def test_the_readings_side_by_side() -> None:
    got = compare("0 0 */2 * 1", NOW, "UTC", 3)
    assert got is not None and got.differs
    assert "starts with '*'" in got.reasons[0]
    # pg_cron: odd days that are Mondays; ordinary cron: odd days, and Mondays.
    assert [r.date().isoformat() for r in got.pg_cron] == ["2026-12-07", "2026-12-21",
                                                           "2027-01-11"]
    assert [r.date().isoformat() for r in got.standard] == ["2026-11-30", "2026-12-01",
                                                            "2026-12-03"]
    weekend = compare("0 0 * * SAT-SUN", NOW, "UTC", 2)
    assert weekend is not None and weekend.pg_cron == ()
    assert [r.strftime("%a") for r in weekend.standard] == ["Sat", "Sun"]


def test_dst_skips_and_last_days_are_told() -> None:
    # 30 March 2025 02:30 does not exist in Berlin: pg_cron has no run that night.
    got = compare("30 2 * * *", datetime(2025, 3, 25, tzinfo=timezone.utc), "Europe/Berlin", 7)
    assert got is not None and got.differs and "skip" in got.reasons[0]
    # 25 October 2026 02:30 comes twice in Berlin: pg_cron runs at both (a launcher that walks
    # real minutes), ordinary cron's reading once.
    back = compare("30 2 * * *", datetime(2026, 10, 25, 0, 30, tzinfo=timezone.utc),
                   "Europe/Berlin", 2)
    assert back is not None and back.differs and "repeated hour" in back.reasons[0]
    assert [r.isoformat() for r in back.pg_cron] == ["2026-10-25T02:30:00+01:00",
                                                     "2026-10-26T02:30:00+01:00"]
    assert "2025-03-30" not in [r.date().isoformat() for r in got.pg_cron]
    assert "2025-03-30" in [r.date().isoformat() for r in got.standard]
    # pg_cron's '$' in New York on 1 November 2026 (see test_last_day_dst).
    last = compare("30 0 $ * *", datetime(2026, 10, 15, tzinfo=timezone.utc),
                   "America/New_York", 3)
    assert last is not None and last.differs and "24 hours ahead" in last.reasons[0]


def test_match_dom_and_dow_is_a_difference() -> None:
    plain = compare("0 0 1 * MON", NOW, "UTC", 3)
    both = compare("0 0 1 * MON", NOW, "UTC", 3, version="1.6+match_dom_and_dow")
    assert plain is not None and not plain.differs
    assert both is not None and both.differs and "match_dom_and_dow" in both.reasons[0]


# -- properties -----------------------------------------------------------------------------


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(expr=operator_expressions(), version=st.sampled_from(("1.4", "1.6")))
def test_plain_schedules_read_alike(expr: str, version: str) -> None:
    """Where pg_cron is plain Vixie cron, the two readings must agree run for run."""
    assume(parse(expr, version) is not None)  # '*/60' on 1.6
    got = compare(expr, NOW, "UTC", 5, version=version)
    assert got is not None
    assert not got.differs, (expr, got.reasons, got.pg_cron, got.standard)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None)
@given(expr=expressions, version=st.sampled_from(("1.4", "1.6", "1.6+match_dom_and_dow")))
def test_comparison_is_consistent(expr: str, version: str) -> None:
    got = compare(expr, NOW, "Europe/Berlin", 4, version=version)
    schedule = parse(expr, version)
    assert (got is None) == (schedule is None or schedule.kind == "reboot")
    if got is None:
        return
    assert bool(got.reasons) == got.differs
    assert len(got.pg_cron) <= 4 and len(got.standard) <= 4
    assert list(got.standard) == sorted(got.standard, key=lambda r: r.replace(tzinfo=None))
    if got.standard_error is not None:
        assert got.differs and got.standard == ()
    if not got.differs:  # alike over the compared window, so alike over the shown runs
        assert [r.replace(tzinfo=None) for r in got.pg_cron] == \
            [r.replace(tzinfo=None) for r in got.standard][: len(got.pg_cron)]
    assert COMPARED_RUNS >= 4


# -- against the real server ------------------------------------------------------------


@pytest.fixture(scope="module")
def judge(cluster: Cluster) -> Iterator[ServerJudge]:
    with psycopg.connect(cluster.conninfo, autocommit=False) as conn:
        yield ServerJudge(conn)
        leftover = conn.execute("select count(*) from cron.job where jobname = %s",
                                [NAME]).fetchone()
        conn.rollback()
        assert leftover == (0,)


@pytest.mark.parametrize("expr", [e for e, _ in CORPUS], ids=repr)
def test_corpus_on_the_server(judge: ServerJudge, cluster: Cluster, expr: str) -> None:
    """The server decides what there is to compare; our expectation holds on its version."""
    accepted = judge.verdict(expr) is None
    got = compare(expr, NOW, "UTC", 5, version=cluster.pg_cron)
    assert (got is not None) == (accepted and not expr.startswith("@reboot"))
    assert (None if got is None else got.differs) is _expected(expr, cluster.pg_cron)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(expr=expressions)
def test_a_reading_exactly_where_the_server_accepts(judge: ServerJudge, cluster: Cluster,
                                                    expr: str) -> None:
    accepted = judge.verdict(expr) is None
    got = compare(expr, NOW, "UTC", 3, version=cluster.pg_cron)
    schedule = parse(expr, cluster.pg_cron)
    reboot = schedule is not None and schedule.kind == "reboot"
    assert (got is not None) == (accepted and not reboot)


# -- the schedule subcommand --------------------------------------------------------------


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "schedule", *args], capture_output=True,
                          text=True, timeout=60)


def test_subcommand_shows_both_readings() -> None:
    done = cli("0 0 */2 * 1", "--from", "2026-11-29T22:07:00Z", "--count", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any("Ordinary cron would run it differently" in line for line in lines)
    header = lines.index("next runs (UTC):") + 1
    # The headings stand over their columns.
    assert lines[header].split() == ["pg_cron", "|", "ordinary", "cron"]
    assert {line.index("|") for line in lines[header:header + 3]} == {2 + 29 + 1}
    assert lines[header].index("pg_cron") == lines[header + 1].index("2026")
    assert lines[header].index("ordinary") == lines[header + 1].rindex("2026")
    assert lines[header + 1].split() == ["2026-12-07T00:00:00+00:00", "Mon", "|",
                                         "2026-11-30T00:00:00+00:00", "Mon"]
    assert lines[header + 2].split() == ["2026-12-21T00:00:00+00:00", "Mon", "|",
                                         "2026-12-01T00:00:00+00:00", "Tue"]


def test_subcommand_json_and_the_setting() -> None:
    done = cli("0 0 1 * MON", "--from", "2026-11-29T22:07:00Z", "--count", "2", "--json")
    out = json.loads(done.stdout)
    assert out["standard_cron"] == {"differs": False, "reasons": [], "error": None,
                                    "next_runs": out["next_runs"]}
    done = cli("0 0 1 * MON", "--from", "2026-11-29T22:07:00Z", "--count", "2", "--json",
               "--match-dom-and-dow")
    out = json.loads(done.stdout)
    assert out["next_runs"] == ["2027-02-01T00:00:00+00:00", "2027-03-01T00:00:00+00:00"]
    assert out["standard_cron"]["differs"] is True
    assert out["standard_cron"]["next_runs"] == ["2026-11-30T00:00:00+00:00",
                                                 "2026-12-01T00:00:00+00:00"]
    assert any("match_dom_and_dow" in w for w in out["warnings"])
    assert json.loads(cli("@reboot", "--json").stdout)["standard_cron"] is None
    seconds = json.loads(cli("30 seconds", "--json").stdout)["standard_cron"]
    assert seconds["differs"] is True and seconds["next_runs"] == [] and seconds["error"]


def test_subcommand_server_mode(cluster: Cluster) -> None:
    done = cli("-d", cluster.conninfo, "0 0 * * MON#1", "--json")
    out = json.loads(done.stdout)
    assert done.returncode == 0
    assert out["standard_cron"]["differs"] is True
    assert "#N" in out["standard_cron"]["reasons"][0]


# -- the job's detail ---------------------------------------------------------------------


async def test_detail_has_one_line_where_the_readings_differ(cluster: Cluster) -> None:
    from textual.widgets import Static

    from tests.ui.conftest import running_app, select_job, wait_for
    from tui.ui.screens.detail import JobDetailScreen

    jobs = {"first-monday-report": "0 6 * * MON#1", "nightly-vacuum": "0 3 * * *"}
    ids = [cluster.value("select cron.schedule(%s, %s, 'vacuum analyze')", [name, expr])
           for name, expr in jobs.items()]
    try:
        async with running_app(cluster) as (app, pilot):
            shown = {}
            for name in jobs:
                await select_job(app, pilot, name)
                await pilot.press("enter")
                await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
                upcoming = app.screen.query_one("#upcoming", Static)
                await wait_for(pilot, lambda u=upcoming: "Next runs (" in _text(u))
                shown[name] = _text(upcoming)
                await pilot.press("escape")
                await wait_for(pilot, lambda: not isinstance(app.screen, JobDetailScreen))
        differing = [line for line in shown["first-monday-report"].splitlines()
                     if "ordinary cron" in line]
        assert len(differing) == 1 and "'#N'" in differing[0], shown
        assert "ordinary cron" not in shown["nightly-vacuum"]
    finally:
        for jobid in ids:
            cluster.sql("select cron.unschedule(%s)", [jobid])


def _text(widget: Any) -> str:
    """What a Static shows, as plain text."""
    from rich.console import Console

    console = Console(width=200, color_system=None)
    with console.capture() as captured:
        console.print(widget.content)
    return captured.get()
