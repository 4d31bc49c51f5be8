"""The timeline drawn as a chart: pure (a pinned start, jobs as the server would give them),
then the same chart from `cronjobs-tui timeline`, the `w` screen and the detail view against a
real server."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from tests.conftest import Cluster, start_cluster
from tui.cli import main
from tui.insight.explain import scheduled_times
from tui.insight.timeline import build
from tui.insight.timeline_chart import (
    ABOVE,
    DST_MARK,
    FULL,
    LINE,
    OVER,
    OVER_MARK,
    buckets,
    chart,
    job_strip,
    text,
)
from tui.models import Job

# Saturday 28 March 2026, 14:07 UTC: Paris springs forward at 01:00 UTC the next night.
START = datetime(2026, 3, 28, 14, 7, tzinfo=timezone.utc)


def job(jobid: int, name: str, schedule: str, active: bool = True) -> Job:
    return Job(jobid, name, schedule, "select 1", "postgres", "postgres", active, None, None,
               None, None, None, None)


JOBS = [job(1, "sync", "*/5 * * * *"), job(2, "refresh-mv", "15 3 * * *"),
        job(3, "purge", "15 3 * * *"), job(4, "rotate", "15 3 * * *"),
        job(5, "report", "0 */2 * * *")]
USUAL = {1: SimpleNamespace(median_s=400.0)}  # five-minute job running about 7 minutes


def plan(tz: str = "Europe/Paris", limit: int | None = 3, hours: int = 24):  # type: ignore[no-untyped-def]
    return build(JOBS, USUAL, START, hours, tz, "1.6", limit)


def flat(line: list[tuple[str, str | None]]) -> str:
    return "".join(t for t, _ in line)


def test_fits_80_columns_and_says_its_bucket() -> None:
    lines = chart(plan(), width=80)
    assert all(len(flat(line)) <= 80 for line in lines)
    assert lines[0][0][0].startswith("Runs at once, the busiest minute of each 20 min")
    # 24 hours of 20 minutes: 73 columns, starting on the clock's 14:00 bucket.
    cols = buckets(plan(), 74)
    assert len(cols) == 73 and cols[0].start == datetime(2026, 3, 28, 14, 0, tzinfo=timezone.utc)
    wide = chart(plan(), width=160)
    assert "each 10 min" in wide[0][0][0]


def test_the_crowded_minute_goes_over_the_limit_line() -> None:
    p = plan()
    crowded = [m for m in p.minutes if m.over_limit]
    # 03:15 Paris (01:15 UTC, after the change): three nightly jobs, sync and its previous
    # run (a median of 400 s outlasts its five minutes).
    assert [m.at.strftime("%H:%M") for m in crowded] == ["03:15"]
    lines = chart(p, width=80)
    out = text(lines)
    assert f"{LINE} cron.max_running_jobs = 3" in out
    assert ABOVE in out  # the part of the bar above the limit has its own glyph
    marks = [line for line in lines if any(style == OVER and t == OVER_MARK for t, style in line)]
    assert len(marks) == 1
    over_col = flat(marks[0]).index(OVER_MARK) - 6
    cols = buckets(p, 74)
    assert cols[over_col].over and cols[over_col].peak == crowded[0].at_once == 5
    assert cols[over_col].start <= crowded[0].at < cols[over_col].start + timedelta(minutes=20)
    # The limit line is drawn on the row of 3, in the columns the bars leave empty.
    assert LINE in next(flat(line) for line in lines if flat(line).startswith("   3 ┤"))


def test_dst_change_is_marked_on_the_time_axis() -> None:
    p = plan()
    assert [d.kind for d in p.dst] == ["gap"]
    lines = chart(p, width=80)
    axis = next(flat(line) for line in lines if flat(line).lstrip().startswith("└"))
    col = axis.index(DST_MARK) - 6
    cols = buckets(p, 74)
    assert cols[col].dst
    assert cols[col].start <= p.dst[0].at < cols[col].start + timedelta(minutes=20)
    assert "± on the axis: DST change" in text(lines)
    assert DST_MARK not in text(chart(plan("UTC"), width=80))  # in UTC nothing changes


def test_readable_without_colour() -> None:
    """Every meaning has its own glyph: the plain text alone tells them apart."""
    out = text(chart(plan(), width=80))
    glyphs = {FULL, ABOVE, LINE, OVER_MARK, DST_MARK}
    assert all(g in out for g in glyphs)
    assert "\x1b" not in out


def test_a_limit_far_above_the_bars_is_said_not_drawn() -> None:
    out = text(chart(plan(limit=32), width=80))
    assert "cron.max_running_jobs = 32, above the chart" in out
    assert LINE not in out and ABOVE not in out and OVER_MARK not in out.split("\n")[-2]
    unknown = text(chart(plan(limit=None), width=80))
    assert "cron.max_running_jobs unknown" in unknown


def test_job_strip_marks_each_start() -> None:
    times = scheduled_times("0 */2 * * *", START, START + timedelta(hours=24), "UTC", "1.6")
    strip, axis = job_strip(times, START, 24, "UTC", width=80)
    assert len(flat(strip)) <= 80 and flat(strip).startswith("24 h ┤")
    assert flat(strip).count("▄") == len(times) == 12
    assert flat(axis).lstrip().startswith("14:07")
    every_minute = scheduled_times("* * * * *", START, START + timedelta(hours=24), "UTC", "1.6")
    dense = flat(job_strip(every_minute, START, 24, "UTC")[0])
    assert set(dense[6:]) == {FULL}


# -- from a real server ------------------------------------------------------------------

NIGHTLY = [("refresh-mv-orders", "15 3 * * *"), ("purge-sessions", "15 3 * * *"),
           ("rotate-audit-partitions", "15 3 * * *")]


@pytest.fixture(scope="module")
def limited(cluster: Cluster) -> Iterator[Cluster]:
    c = start_cluster(cluster.sandbox.install, **{"cron.max_running_jobs": "2"})
    with c.connect() as conn:
        for name, sched in NIGHTLY:
            conn.execute("select cron.schedule(%s, %s, 'select 1')", [name, sched])
    yield c
    c.sandbox.destroy()


def test_cli_draws_the_chart_above_the_list(limited: Cluster) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["timeline", "-d", limited.conninfo]) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("Runs at once, the busiest minute of each 20 min")
    assert f"{LINE} cron.max_running_jobs = 2" in lines[0]
    assert any(OVER_MARK in line and set(line.strip()) == {OVER_MARK} for line in lines)
    listed = next(i for i, line in enumerate(lines) if line.startswith("Next 24 h from"))
    assert listed > 5 and "Busiest minutes:" in lines[listed:]
    assert all(len(line) <= 80 for line in lines[:listed])
    js = io.StringIO()
    with contextlib.redirect_stdout(js):
        assert main(["timeline", "-d", limited.conninfo, "--json"]) == 0
    assert set(json.loads(js.getvalue())) == {"from", "hours", "zone", "max_running_jobs",
                                              "minutes", "overlaps", "dst", "skipped"}


async def test_screens_show_the_chart(limited: Cluster) -> None:
    from textual.widgets import Static

    from tests.ui.conftest import running_app, select_job, wait_for
    from tui.ui.screens.detail import JobDetailScreen
    from tui.ui.screens.timeline import TimelineScreen
    from tui.ui.widgets.timeline_chart import JobTimeline

    async with running_app(limited) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_name(NIGHTLY[0][0]) is not None)
        await pilot.press("w")
        await wait_for(pilot, lambda: isinstance(app.screen, TimelineScreen))
        widget = app.screen.query_one("#timeline", Static)
        await wait_for(pilot, lambda: "Busiest minutes" in str(widget.render()))
        shown = str(widget.render())
        assert shown.index("Runs at once") < shown.index("Busiest minutes")
        assert "cron.max_running_jobs = 2" in shown and OVER_MARK in shown
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, TimelineScreen))
        await select_job(app, pilot, NIGHTLY[0][0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        strip = str(app.screen.query_one(JobTimeline).render())
        assert strip.startswith("24 h ┤") and strip.count("▄") == 1
