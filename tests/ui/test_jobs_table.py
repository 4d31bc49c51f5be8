"""The jobs table in the real app, on a real cluster: the selection stays on its job through
refreshes, sorts (key and header click) and filters, and rows off screen are never built."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import Cluster
from tests.ui.conftest import running_app, select_job, unique, wait_for
from tui import format as fmt
from tui.ui.app import CronJobsApp
from tui.ui.widgets.jobs import JobsTable
from tui.upcoming import NextRuns

# Shapes of real job names and commands.
COMMANDS = ["vacuum analyze public.orders", "call public.refresh_report(42)",
            "delete from audit.events where at < now() - interval '90 days'",
            "refresh materialized view concurrently reporting.daily_sales"]


def many_jobs(cluster: Cluster, count: int) -> list[int]:
    names = [f"{unique('rollup')}-{i:03d}" for i in range(count)]
    return [cluster.value("select cron.schedule(%s, %s, %s)",
                          [name, f"{i % 60} {i % 24} * * *", COMMANDS[i % len(COMMANDS)]])
            for i, name in enumerate(names)]


async def test_the_selected_job_stays_selected_through_sorts_and_refreshes(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job("select pg_sleep(1)")
    made = many_jobs(cluster, 40)
    try:
        async with running_app(cluster) as (app, pilot):
            table = app.main.jobs_table
            # Rows nobody has scrolled to are not built: about a screenful is. (Checked before
            # any filter: each keystroke of one shows other rows, and those are drawn.)
            await wait_for(pilot, lambda: table.row_count >= 41)
            await pilot.pause()
            shown = table.scrollable_content_region.height - 1
            built = [key for key in table.rows if table.cells[key] is not None]
            assert len(built) <= shown + 2 < table.row_count, (len(built), shown)
            await select_job(app, pilot, name)
            await pilot.press("escape")  # the filter goes, the selection stays
            await wait_for(pilot, lambda: table.row_count >= 41)
            assert table.selected_jobid == jobid
            assert table.cells[str(jobid)] is not None
            for _ in range(3):  # id -> problems -> name -> next run
                row = table.cursor_row
                await pilot.press("o")
                await wait_for(pilot, lambda r=row: table.selected_jobid == jobid)
                assert table.key_at(table.cursor_row) == str(jobid)
            # A header click sorts by that column; the job stays under the cursor, on screen.
            await pilot.click(JobsTable, offset=(2, 0))
            await wait_for(pilot, lambda: table.sort == "name")
            assert table.selected_jobid == jobid
            top, shown = round(table.scroll_y), table.scrollable_content_region.height - 1
            assert top <= table.cursor_row < top + shown
            reads = app.jobs_tracker.reads
            await wait_for(pilot, lambda: app.jobs_tracker.reads >= reads + 2)  # refreshes
            assert table.selected_jobid == jobid
            await pilot.press("end")
            assert table.key_at(table.cursor_row) == table.key_at(table.row_count - 1)
            await pilot.pause()
            last = table.key_at(table.row_count - 1)
            assert last is not None and table.cells[last] is not None  # drawn: built
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [made])


def next_runs_on_screen_are_fresh(app: CronJobsApp) -> bool:
    """Every row on screen shows the next run a fresh computation gives at the app's latest
    refresh (its "At" cell too)."""
    table, facts = app.main.jobs_table, app.facts
    assert facts is not None
    fresh = NextRuns().update(app.jobs, facts)
    at = [c.key for c in table.columns].index("at")
    top, shown = round(table.scroll_y), table.scrollable_content_region.height - 1
    for row in range(top, min(top + shown, table.row_count)):
        key = table.key_at(row)
        assert key is not None
        built, cells, expected = table.built[int(key)], table.cells[key], fresh[int(key)]
        if cells is None or built.now != facts.now or built.upcoming != expected:
            return False
        if expected is not None and "".join(text for text, _ in cells[at]) != \
                fmt.short_absolute(expected, facts.scheduler_timezone, facts.now):
            return False
    return True


async def test_next_runs_are_computed_for_the_rows_drawn_and_never_shown_stale(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    """Next runs are computed when their rows are drawn (the others later, between key
    presses): the first screen, a row scrolled to, a job rescheduled and a sort by next run
    each show what a fresh computation gives."""
    jobid, name = make_job("select 1", "17 4 * * *")
    made = many_jobs(cluster, 80)
    try:
        async with running_app(cluster) as (app, pilot):
            table = app.main.jobs_table
            await wait_for(pilot, lambda: table.row_count >= 81)
            await wait_for(pilot, lambda: next_runs_on_screen_are_fresh(app))
            await pilot.press("end")
            await wait_for(pilot, lambda: next_runs_on_screen_are_fresh(app))
            await select_job(app, pilot, name)  # on screen, then rescheduled under the eyes
            cluster.sql("select cron.alter_job(%s, schedule := %s)", [jobid, "43 21 * * *"])
            await wait_for(pilot, lambda: (job := app.job_by_id(jobid)) is not None
                           and job.schedule == "43 21 * * *")
            await wait_for(pilot, lambda: next_runs_on_screen_are_fresh(app))
            await pilot.press("escape")
            while table.sort != "next":
                await pilot.press("o")
            await wait_for(pilot, lambda: table.sort == "next"
                           and next_runs_on_screen_are_fresh(app))
            facts = app.facts
            assert facts is not None
            fresh = NextRuns().update(app.jobs, facts)
            order = [int(key) for key in table.keys[:table.row_count]]
            far = max(when for when in fresh.values() if when is not None)
            whens = [fresh[j] or far for j in order]
            assert whens == sorted(whens)
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobid = any(%s)", [made])
