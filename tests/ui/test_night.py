"""What an on-call operator tripped over at 3 a.m. (issue 18), driven by keys on a real pg_cron."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.conftest import Cluster
from tests.ui.conftest import dialog_ready, running_app, select_job, wait_for


def start_run(cluster: Cluster, jobid: int, status: str = "running") -> int:
    """A run as pg_cron's worker leaves it while the command goes: no end time yet, its
    backend alive (the checkpointer's pid stands in for it: not orphaned)."""
    return cluster.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, start_time) values (%s, nextval('cron.runid_seq'), (select pid from "
        "pg_stat_activity where backend_type = 'checkpointer'), 'postgres', "
        "'postgres', 'vacuum analyze public.usage_events', %s, now()) returning runid",
        [jobid, status])


def end_run(cluster: Cluster, runid: int, status: str = "succeeded",
            message: str = "VACUUM") -> None:
    cluster.sql("update cron.job_run_details set status = %s, return_message = %s, "
                "end_time = now() where runid = %s", [status, message, runid])


def finished_run(cluster: Cluster, jobid: int, status: str = "succeeded",
                 message: str = "1 row") -> int:
    runid = start_run(cluster, jobid)
    end_run(cluster, runid, status, message)
    return runid


async def test_a_run_that_ends_while_the_stream_is_held_is_shown_ended(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job("vacuum analyze public.usage_events")
    for _ in range(4):
        finished_run(cluster, jobid)
    async with running_app(cluster) as (app, pilot):
        table = app.main.runs_table
        await select_job(app, pilot, name)
        await pilot.press("j")
        await wait_for(pilot, lambda: table.row_count == 4)
        table.focus()
        await pilot.press("down", "down")  # reading back: the stream holds still
        runid = start_run(cluster, jobid)
        await wait_for(pilot, lambda: [r.runid for r in table.pending] == [runid])
        end_run(cluster, runid)
        # The stream reports the end once; the run is still waiting to be shown.
        await wait_for(pilot, lambda: runid not in app.stream.unfinished)
        assert str(runid) not in table.rows
        await pilot.press("r", "home")
        await wait_for(pilot, lambda: str(runid) in table.rows)
        await pilot.pause(0.3)
        cells = [str(c) for c in table.get_row(str(runid))]
        assert "succeeded" in cells and "running" not in cells
        assert cluster.value("select status from cron.job_run_details where runid = %s",
                             [runid]) == "succeeded"


def title(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.main.query_one("#jobs-title").render())


def footer_keys(screen) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """The keys the footer shows, by action, with their region (off screen if cut)."""
    from textual.widgets._footer import FooterKey

    return {k.action: k for k in screen.query(FooterKey)}


def problem_counts(cluster: Cluster) -> tuple[int, int, int]:
    """Failing, stuck (latest run unfinished for over tui/rules.py's floor, its backend alive:
    these jobs have no usual figure beyond it), paused: from the tables."""
    return cluster.sql("""
        with latest as (
            select j.jobid, j.active, d.status, d.start_time
            from cron.job j left join lateral (
                select status, start_time from cron.job_run_details r
                where r.jobid = j.jobid order by runid desc limit 1) d on true)
        select count(*) filter (where status = 'failed')::int,
               count(*) filter (where status in ('starting', 'running')
                                and start_time < now() - interval '5 minutes')::int,
               count(*) filter (where not active)::int
        from latest""")[0]


async def test_failures_first_at_a_glance(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    healthy, _ = make_job("select public.rollup_daily_usage()")
    failing, failing_name = make_job("select 1 / 0")
    finished_run(cluster, failing, "failed", "ERROR:  division by zero")
    stuck, _ = make_job("vacuum full public.usage_events")
    runid = start_run(cluster, stuck)
    cluster.sql("update cron.job_run_details set start_time = now() - interval '47 minutes' "
                "where runid = %s", [runid])
    paused, _ = make_job("select pg_sleep(600)")
    cluster.sql("select cron.alter_job(%s, active := false)", [paused])
    finished_run(cluster, healthy)
    failing_n, stuck_n, paused_n = problem_counts(cluster)
    assert min(failing_n, stuck_n, paused_n) >= 1
    async with running_app(cluster) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_id(paused) is not None
                       and app.job_by_id(failing).last_status == "failed")
        await wait_for(pilot, lambda: f"{failing_n} failing" in title(app))
        assert f"{stuck_n} stuck" in title(app) and f"{paused_n} paused" in title(app)
        # One key, shown in the footer, puts the problems on top, the cursor on the worst.
        assert "problems_first" in footer_keys(app.main)
        await pilot.press("p")
        await wait_for(pilot, lambda: "sort: problems first" in title(app))
        table = app.main.jobs_table
        rows = [int(table.key_at(i)) for i in range(table.row_count)]
        assert rows.index(failing) < rows.index(stuck) < rows.index(paused) < rows.index(healthy)
        assert rows[:failing_n + stuck_n] and all(
            app.job_by_id(j).last_status in ("failed", "running") for j in rows[:failing_n])
        assert table.cursor_row == 0
        # `o` names each order as it cycles through them.
        seen = set()
        for _ in range(6):
            await pilot.press("o")
            await pilot.pause(0.1)
            seen.add(title(app).split("sort: ")[1].split("  ")[0])
            assert app._notifications and "Sort: " in list(app._notifications)[-1].message
        assert {"by id", "by name", "next run first", "last run, failures first",
                "paused first", "problems first"} <= seen


async def test_80x24_keeps_the_essentials(cluster: Cluster,
                                          make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    cluster.sql("select cron.alter_job(%s, schedule := '*/5 1-3,22-23 1-15 1,3,5,7,9,11 *')",
                [jobid])
    finished_run(cluster, jobid)
    async with running_app(cluster, size=(80, 24)) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_id(jobid) is not None
                       and app.job_by_id(jobid).last_status == "succeeded")
        await pilot.pause(0.3)
        header = str(app.main.query_one("#header").render())
        where = f"postgres@127.0.0.1:{cluster.sandbox.port}/postgres"
        assert where in header and header.index(where) + len(where) <= 78  # padding 1 each side
        for action in ("help", "quit"):
            key = footer_keys(app.main)[action]
            assert 0 <= key.region.x and key.region.right <= 80, (action, key.region)
        # The last run, whole, within the table's width (no horizontal scrolling needed).
        table = app.main.jobs_table
        await select_job(app, pilot, name)
        widths = sum(c.width for c in table.columns)
        assert widths <= table.size.width, [(c.label, c.width) for c in table.columns]
        assert table.get_cell(str(jobid), "last").plain.startswith("succeeded ")
        assert table.get_cell(str(jobid), "last").plain.endswith(("s", "m", "h", "d"))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not app.main)
        await pilot.pause(0.3)
        for action in ("help", "quit", "back"):
            key = footer_keys(app.screen)[action]
            assert 0 <= key.region.x and key.region.right <= 80, (action, key.region)


async def test_delete_dialog_takes_the_name_at_once(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    from textual.widgets import Button, Input

    from tui.ui.screens.confirm import TypeNameScreen

    jobid, name = make_job("delete from public.usage_events where at < now() - interval '90 days'")
    exists = "select count(*) from cron.job where jobid = %s"
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, TypeNameScreen))
        dialog = app.screen
        assert dialog.focused is dialog.query_one("#typed", Input)
        # A slip of the finger is named at once, and Enter on it deletes nothing.
        await pilot.press(*name[:3], "x")
        mismatch = str(dialog.query_one("#mismatch").render())
        assert "does not match" in mismatch and name in mismatch
        await pilot.press("enter")
        await pilot.pause(0.2)
        assert app.screen is dialog and "nothing deleted" in str(
            dialog.query_one("#mismatch").render())
        assert cluster.value(exists, [jobid]) == 1
        # Cancel is one Tab away, and stays the safe way out.
        await pilot.press("tab")
        assert dialog.focused is dialog.query_one("#cancel", Button)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is app.main)
        assert cluster.value(exists, [jobid]) == 1
        # Typed right, Enter in the field deletes it.
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, TypeNameScreen))
        await pilot.press(*name)
        assert not str(app.screen.query_one("#mismatch").render()).strip()
        await pilot.press("enter")
        await wait_for(pilot, lambda: cluster.value(exists, [jobid]) == 0)


def runs_title(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.main.query_one("#runs-title").render())


async def test_small_things_that_cost_seconds(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    first, first_name = make_job("select public.rollup_daily_usage()")
    second, second_name = make_job("analyze public.usage_events")
    finished_run(cluster, first)
    finished_run(cluster, second)
    deleted, deleted_name = make_job("select pg_sleep(1)")
    deleted_run = finished_run(cluster, deleted)
    cluster.sql("select cron.unschedule(%s)", [deleted])
    async with running_app(cluster) as (app, pilot):
        table, runs = app.main.jobs_table, app.main.runs_table
        # Runs of a deleted job say so.
        await wait_for(pilot, lambda: str(deleted_run) in runs.rows)
        assert runs.get_cell(str(deleted_run), "job").plain == f"deleted job #{deleted}"
        # Home / End: the first and the last row.
        table.focus()
        await wait_for(pilot, lambda: table.row_count > 3)
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0
        # `j` on another job follows that job instead of clearing the filter.
        await select_job(app, pilot, first_name)
        await pilot.press("j")
        await wait_for(pilot, lambda: runs.job_filter == first and runs.row_count == 1)
        await pilot.press("escape")
        await select_job(app, pilot, second_name)
        await pilot.press("j")
        await wait_for(pilot, lambda: runs.job_filter == second and runs.row_count == 1)
        assert f"job: {second_name}" in runs_title(app)
        # An empty stream under a filter says it is the filter.
        await pilot.press("f")  # failed runs only: this job has none
        await wait_for(pilot, lambda: runs.status_filter == "failed" and runs.row_count == 0
                       and "no runs match" in runs_title(app))
        # An empty jobs table under a filter says so too.
        await pilot.press("escape", "slash", *"no-such-job-anywhere")
        await wait_for(pilot, lambda: "no job matches" in title(app))


async def test_a_created_job_gets_the_cursor(cluster: Cluster,
                                             make_job: Callable[..., tuple[int, str]]) -> None:
    from textual.widgets import Input, TextArea

    from tests.ui.conftest import NEVER, unique
    from tui.ui.screens.form import JobFormScreen

    for _ in range(3):
        make_job()  # rows enough that the new one is not where the cursor already is
    name = unique("nightly-export")
    try:
        async with running_app(cluster) as (app, pilot):
            await wait_for(pilot, lambda: app.main.jobs_table.row_count > 3)
            assert app.main.jobs_table.cursor_row == 0
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
            form = app.screen
            await pilot.press(*name)
            form.query_one("#schedule", Input).value = NEVER
            form.query_one("#command", TextArea).text = "select public.rollup_daily_usage()"
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: app.screen is app.main)
            await wait_for(pilot, lambda: (job := app.main.selected_job()) is not None
                           and job.jobname == name)
            assert app.main.jobs_table.cursor_row > 0
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobname = %s", [name])


async def test_evaluated_http_request_says_it_once(cluster: Cluster) -> None:
    from tui.ui.screens.http import HttpScreen

    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, "weekly-adapter-check")
        await pilot.press("h")
        await wait_for(pilot, lambda: isinstance(app.screen, HttpScreen))
        await pilot.press("tab", "enter")  # Close has the focus; Send is next
        request = app.screen.query_one("#http-request")
        await wait_for(pilot, lambda: "evaluated in database" in str(request.render()),
                       timeout=30)
        text = str(request.render())
        assert text.count("evaluated") == 1 and "HTTP request (evaluated in database" in text


def timed_run(cluster: Cluster, jobid: int, seconds: float) -> None:
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) values (%s, nextval('cron.runid_seq'), "
        "4242, 'postgres', 'postgres', 'select 1', 'succeeded', '1 row', "
        "now() - interval '1 hour', now() - interval '1 hour' + make_interval(secs => %s))",
        [jobid, seconds])


async def test_honest_pictures(cluster: Cluster,
                               make_job: Callable[..., tuple[int, str]]) -> None:
    from textual.widgets import Button, ProgressBar, Sparkline

    quick, quick_name = make_job("select 1")
    for seconds in (0.0011, 0.0023, 0.0009, 0.0031):  # what a `select 1` takes
        timed_run(cluster, quick, seconds)
    jittery, jittery_name = make_job("select count(*) from public.usage_events")
    for seconds in (0.004, 0.019, 0.012, 0.007):  # timer noise, not a trend
        timed_run(cluster, jittery, seconds)
    slow, slow_name = make_job("select pg_sleep(4)")
    for seconds in (4.003, 4.011, 4.007, 6.5):
        timed_run(cluster, slow, seconds)
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, quick_name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not app.main
                       and "took" in str(app.screen.query_one("#stats").render()))
        # Four runs of 0.00 s: no bars of "variation", and the words say so.
        assert not app.screen.query_one("#durations", Sparkline).display
        assert "took 0.00 s every time" in str(app.screen.query_one("#stats").render())
        await pilot.press("escape")
        await select_job(app, pilot, jittery_name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not app.main
                       and "took" in str(app.screen.query_one("#stats").render()))
        assert not app.screen.query_one("#durations", Sparkline).display
        assert "took 0.00 s to 0.02 s" in str(app.screen.query_one("#stats").render())
        await pilot.press("escape")
        await select_job(app, pilot, slow_name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.screen is not app.main
                       and "took" in str(app.screen.query_one("#stats").render()))
        spark = app.screen.query_one("#durations", Sparkline)
        assert spark.display
        assert min(spark.data) == 0.0 and max(spark.data) == 6.5  # bars measured from zero
        assert sorted(set(spark.data)) == [0.0, 4.003, 4.007, 4.011, 6.5]
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        # The idle maintenance screen shows no progress and nothing to cancel.
        await pilot.press("m")
        await wait_for(pilot, lambda: app.screen.query("#progress"))
        await pilot.pause(0.3)
        assert not app.screen.query_one("#progress", ProgressBar).display
        assert not app.screen.query_one("#stop", Button).display


async def test_audit_view_names_servers_and_shows_each_change(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    from textual.widgets import DataTable

    from tui.ui.screens.audit import AuditScreen

    jobid, name = make_job("select public.rollup_daily_usage()")
    async with running_app(cluster) as (app, pilot):
        # An entry another session left about another server, in the same local file.
        app.audit.record("delete", server="db-eu-2.internal:5432/postgres", role="ops",
                         job="nightly-billing-export", outcome="ok",
                         detail="deleted from the standby's former primary " * 4)
        await select_job(app, pilot, name)
        await pilot.press("s")
        await wait_for(pilot, lambda: dialog_ready(app))
        await pilot.press("tab", "enter")
        await wait_for(pilot, lambda: cluster.value(
            "select active from cron.job where jobid = %s", [jobid]) is False)
        await wait_for(pilot, lambda: any(e["job"] == name for e in app.audit.tail()))
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        screen = app.screen
        table = screen.query_one(DataTable)
        here = f"127.0.0.1:{cluster.sandbox.port}/postgres"
        servers = {entry["server"] for entry in screen.entries}
        assert servers == {here} and table.row_count == len(screen.entries)  # this server's
        assert "entries of other servers: s shows them" in str(
            screen.query_one("#audit-title").render())
        # The newest entry, whole: the field it changed, before and after.
        await pilot.press("enter")
        entry = str(screen.query_one("#audit-entry").render())
        assert "pause" in entry and name in entry and here in entry
        assert "active: active → paused" in entry  # in words, never Python's True
        await pilot.press("s")  # every server's: the server gets a column (the fifth)
        await wait_for(pilot, lambda: "db-eu-2.internal:543" in {
            table.get_cell_at((r, 4)).plain[:20] for r in range(table.row_count)})
        table.focus()
        other = next(r for r in range(table.row_count)
                     if table.get_cell_at((r, 4)).plain.startswith("db-eu-2"))
        await pilot.press("home", *["down"] * other)
        entry = str(screen.query_one("#audit-entry").render())
        assert entry.count("deleted from the standby's former primary") == 4  # not cut


async def test_fleet_view_uses_the_width(cluster: Cluster, tmp_path: Path) -> None:
    from textual.widgets import DataTable

    from tui import fleet
    from tui.db import ConnectOptions
    from tui.ui.app import CronJobsApp
    from tui.ui.screens.fleet import FleetScreen

    path = tmp_path / "config.toml"
    path.write_text(
        "fleet_timeout = 4\nrefresh_interval = 0.5\n\n"
        f"[profiles.billing-eu]\ndsn = \"{cluster.conninfo}\"\n\n"
        # A decommissioned replica: refused at once, with libpq's long message.
        "[profiles.billing-us-replica]\n"
        "dsn = \"host=127.0.0.1 port=1 dbname=billing user=ops\"\n")
    settings, names = fleet.fleet_settings(str(path), [])

    async def look(size: tuple[int, int]) -> None:
        app = CronJobsApp(ConnectOptions(read_only=True), settings, fleet=names)
        async with app.run_test(size=size) as pilot:
            screen = app.screen
            assert isinstance(screen, FleetScreen)
            await wait_for(pilot, lambda: screen.status["billing-eu"].state == "up"
                           and screen.status["billing-us-replica"].state == "down")
            await pilot.pause(0.3)
            table = screen.query_one(DataTable)
            columns = {c.key.value: c for c in table.ordered_columns}

            def shown(row: str, key: str) -> tuple[str, int]:
                cell = table.get_cell(row, key)
                padding = 2 * table.cell_padding
                return cell.plain, columns[key].get_render_width(table) - padding

            # Next run as the jobs table says it, whole.
            upcoming, width = shown("billing-eu", "next")
            assert upcoming.startswith("in ") and len(upcoming) <= width, (upcoming, width)
            drift, width = shown("billing-eu", "drift")
            assert len(drift) <= width
            # The problem: readable in the row as far as the width goes, whole below it.
            problem, width = shown("billing-us-replica", "detail")
            assert len(problem) <= width and len(problem) >= (40 if size[0] > 120 else 20), \
                (problem, width)
            total = sum(c.get_render_width(table) for c in table.ordered_columns)
            assert total <= size[0]
            await pilot.press("down")
            detail = str(screen.query_one("#fleet-detail").render())
            assert "could not connect to ops@127.0.0.1:1/billing" in detail
            assert "Connection refused" in detail

    for size in ((120, 40), (160, 50)):
        await look(size)
