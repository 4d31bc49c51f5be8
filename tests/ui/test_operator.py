"""Every action, driven by keys against a real pg_cron; asserting what the database holds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from rich.console import Console
from rich.table import Table
from textual.widgets import Button, DataTable, Input, Static, TextArea

from tests.conftest import Cluster
from tests.ui.conftest import NEVER, dialog_ready, running_app, select_job, unique, wait_for
from tui.config import Settings
from tui.db import ConnectOptions
from tui.ui.app import CronJobsApp
from tui.ui.screens.confirm import RunNowScreen, TypeNameScreen
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.form import JobFormScreen
from tui.ui.screens.help import HelpScreen


def job_row(cluster: Cluster, jobid: int) -> tuple:
    return cluster.sql("select schedule, command, active from cron.job where jobid = %s",
                       [jobid])[0]


def run_count(cluster: Cluster, jobid: int) -> int:
    return cluster.value("select count(*) from cron.job_run_details where jobid = %s", [jobid])


@pytest.mark.smoke  # the TUI's main keys
async def test_the_3am_story(cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    """Find a failing job, read why, fix its schedule, trigger it, see the run, pause it."""
    jobid, name = make_job("select 1 / 0")
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) values (%s, nextval('cron.runid_seq'), "
        "1, 'postgres', 'postgres', 'select 1 / 0', 'failed', 'ERROR:  division by zero', "
        "now() - interval '1 min', now() - interval '1 min')", [jobid])
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, name)
        assert app.main.selected_job().last_status == "failed"
        # Read why: the detail screen shows the run's message.
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        history = app.screen.query_one("#history", DataTable)
        await wait_for(pilot, lambda: history.row_count == 1)
        assert "division by zero" in str(history.get_row_at(0)[-1])
        # Fix the command and the schedule.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        form.query_one("#schedule", Input).value = "*/5 * * * *"
        form.query_one("#command", TextArea).text = "select 1"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        assert job_row(cluster, jobid) == ("*/5 * * * *", "select 1", True)
        # Trigger it: a real, recorded run appears.
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, RunNowScreen))
        await pilot.press("tab", "enter")  # Cancel has the focus; Run is next
        await wait_for(pilot, lambda: run_count(cluster, jobid) == 2
                       and not app.manual)
        status, message = cluster.sql(
            "select status, return_message from cron.job_run_details where jobid = %s "
            "order by runid desc limit 1", [jobid])[0]
        assert (status, message) == ("succeeded", "manual run by postgres: 1 row")
        await wait_for(pilot, lambda: history.row_count == 2)
        # Pause it, after a confirmation.
        await pilot.press("s")
        await wait_for(pilot, lambda: dialog_ready(app))
        assert app.screen.focused.id == "cancel"
        await pilot.press("tab", "enter")  # to the Pause button
        await wait_for(pilot, lambda: job_row(cluster, jobid)[2] is False)
        # Each change is in the local audit log, and the log is viewable in the app.
        entries = [e for e in app.audit.tail() if e["job"] == name]
        assert [e["action"] for e in entries] == ["pause", "trigger", "edit"]
        assert entries[0]["before"]["active"] is True and entries[0]["after"]["active"] is False
        assert entries[2]["before"]["schedule"] == NEVER
        assert entries[2]["after"]["schedule"] == "*/5 * * * *"
        await pilot.press("escape", "a")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "AuditScreen")
        assert app.screen.query_one(DataTable).row_count >= 3


async def test_cancel_changes_nothing(cluster: Cluster,
                                      make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    before = job_row(cluster, jobid)
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("s")
        await wait_for(pilot, lambda: dialog_ready(app))
        await pilot.press("enter")  # Cancel has the focus
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, TypeNameScreen))
        await pilot.press("tab", "enter")  # the name field has the focus; Cancel is next
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        app.screen.query_one("#schedule", Input).value = "@hourly"
        await pilot.press("escape")
        await pilot.pause(0.3)
    assert job_row(cluster, jobid) == before
    assert run_count(cluster, jobid) == 0


async def test_delete_wants_the_name(cluster: Cluster,
                                     make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, TypeNameScreen))
        dialog = app.screen
        assert dialog.focused.id == "typed"
        await pilot.press(*name[:-1])
        assert dialog.query_one("#confirm", Button).disabled
        await pilot.press(name[-1])
        assert not dialog.query_one("#confirm", Button).disabled
        await pilot.press("enter")
        await wait_for(pilot, lambda: cluster.value(
            "select count(*) from cron.job where jobid = %s", [jobid]) == 0)


async def test_new_job_and_refused_input(cluster: Cluster) -> None:
    name = unique("new")
    async with running_app(cluster) as (app, pilot):
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        await pilot.press(*name)
        form.query_one("#schedule", Input).value = "5/15 * * * *"  # pg_cron refuses this
        form.query_one("#command", TextArea).text = "select 2"
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert isinstance(app.screen, JobFormScreen)
        assert "schedule" in str(form.query_one("#error").render()).lower()
        assert cluster.value("select count(*) from cron.job where jobname = %s", [name]) == 0
        form.query_one("#schedule", Input).value = NEVER
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
    assert cluster.sql("select schedule, command from cron.job where jobname = %s",
                       [name]) == [(NEVER, "select 2")]
    cluster.sql("select cron.unschedule(%s)", [name])


async def test_edit_of_a_job_changed_meanwhile_writes_nothing(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        cluster.sql("select cron.alter_job(%s, command := 'select 3')", [jobid])
        app.screen.query_one("#schedule", Input).value = "@daily"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: app.screen.__class__.__name__ == "MessageScreen")
        assert "nothing was written" in str(app.screen.query_one(".question").render())
    assert job_row(cluster, jobid) == (NEVER, "select 3", True)


async def test_read_only_mode_removes_every_mutation(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    async with running_app(cluster, read_only=True) as (app, pilot):
        await select_job(app, pilot, name)
        footer_actions = {b.action for b in app.main.active_bindings_list()}
        assert not footer_actions & {"trigger", "pause", "edit", "new", "delete"}
        assert {"refresh", "help", "quit", "copy"} <= footer_actions
        for key in "tsedn":
            await pilot.press(key)
            await pilot.pause(0.1)
            assert app.screen is app.main
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        shown = {row.id for row in app.screen.rows}  # binding ids: here the actions' names
        assert "trigger" not in shown and "refresh" in shown
        assert not app.screen.sections  # no edit form in read-only mode
        assert app.facts.read_only  # and the server session is read-only too
    assert job_row(cluster, jobid) == (NEVER, "select 1", True)
    assert run_count(cluster, jobid) == 0


async def test_keys_can_be_remapped(cluster: Cluster,
                                    make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    async with running_app(cluster, keys={"pause": "P"}) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("s")
        await pilot.pause(0.2)
        assert app.screen is app.main
        await pilot.press("P")
        await wait_for(pilot, lambda: dialog_ready(app))
        await pilot.press("escape")
        await wait_for(pilot, lambda: app.screen is app.main)
        # The help names the key the config gave, not the built-in one.
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        table = [w.content for w in app.screen.query(Static) if isinstance(w.content, Table)][0]
        console = Console(width=120, record=True)
        console.print(table)
        rows = {line.split()[-1]: line.split()[0] for line in console.export_text().splitlines()
                if line.strip()}
        assert rows["pause"] == "P" and rows["trigger"] == "t"


def add_run(cluster: Cluster, jobid: int, status: str) -> int:
    return cluster.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) values (%s, nextval('cron.runid_seq'), "
        "1, 'postgres', 'postgres', 'x', %s, 'm', now(), now()) returning runid",
        [jobid, status])


async def test_run_stream_holds_still_while_reading_back(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job()
    for _ in range(5):
        add_run(cluster, jobid, "succeeded")
    async with running_app(cluster) as (app, pilot):
        table = app.main.runs_table
        await select_job(app, pilot, name)
        await pilot.press("j")  # only this job's runs
        await wait_for(pilot, lambda: table.row_count == 5)
        table.focus()
        await pilot.press("down", "down")
        top = table.key_at(0)
        newest = add_run(cluster, jobid, "failed")
        await wait_for(pilot, lambda: len(table.pending) == 1)
        assert table.key_at(0) == top
        assert table.cursor_row == 2
        assert "1 new" in str(app.main.query_one("#runs-title").render())
        await pilot.press("home")
        await wait_for(pilot, lambda: table.key_at(0)
                       == str(newest))
        # Status filter: `f` cycles to failed runs only.
        await pilot.press("f")
        await wait_for(pilot, lambda: table.row_count == 1)
        assert "status: failed" in str(app.main.query_one("#runs-title").render())


async def test_a_triggered_run_shows_while_it_runs(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    """The run's row is on screen once it is recorded, while its command goes on: not at
    the next refresh (two minutes away here), nor only once it has ended."""
    jobid, name = make_job("select pg_sleep(3)")
    app = CronJobsApp(ConnectOptions(dbname=cluster.conninfo), Settings(refresh_interval=120))
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: app.facts is not None)
        await select_job(app, pilot, name)
        runs = app.main.runs_table.runs
        await pilot.press("t")
        await wait_for(pilot, lambda: dialog_ready(app, RunNowScreen))
        await pilot.press("tab", "enter")

        def shown(status: str) -> bool:
            return any(r.jobid == jobid and r.status == status for r in runs.values())

        await wait_for(pilot, lambda: shown("running"))
        assert app.manual  # still going
        await wait_for(pilot, lambda: shown("succeeded") and not app.manual)


async def test_a_long_run_redraws_nothing_until_it_ends(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    """A run still going is asked about at every refresh; the table is touched only when the
    answer changes (a touched row is drawn again)."""
    jobid, name = make_job()
    runid = cluster.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, start_time) values (%s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', "
        "'x', 'running', now()) returning runid", [jobid])
    async with running_app(cluster) as (app, pilot):
        table = app.main.runs_table
        await select_job(app, pilot, name)
        await pilot.press("j")
        await wait_for(pilot, lambda: table.row_count == 1 and runid in app.stream.unfinished)
        drawn, reads = table.changes, app.jobs_tracker.reads
        await wait_for(pilot, lambda: app.jobs_tracker.reads >= reads + 3)
        assert table.changes == drawn
        cluster.sql("update cron.job_run_details set status = 'succeeded', end_time = now(), "
                    "return_message = 'done' where runid = %s", [runid])
        await wait_for(pilot, lambda: "succeeded" in str(table.get_row(str(runid))))
        assert table.changes > drawn


async def test_command_palette_offers_the_screen_actions(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    from textual.command import CommandPalette

    from tui.ui.app import ActionCommands

    jobid, name = make_job()
    async with running_app(cluster) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await pilot.press(*"Pause")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await wait_for(pilot, lambda: dialog_ready(app))
        await pilot.press("escape")
    async with running_app(cluster, read_only=True) as (app, pilot):
        provider = ActionCommands(app.main)
        offered = [hit.text for hit in [h async for h in provider.search("r")]]
        assert any("Refresh" in str(t) for t in offered)
        assert not any("Trigger" in str(t) for t in offered)
    assert job_row(cluster, jobid)[2] is True


async def test_jobs_that_differ_from_the_jobs_file_are_marked(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], tmp_path: Path) -> None:
    jobid, name = make_job("select net.http_get(url := 'https://example.com/ping')")
    same_id, same = make_job()
    spec = tmp_path / "jobs.toml"
    spec.write_text(f'[[job]]\nname = "{name}"\nschedule = "@hourly"\n'
                    f'command = "select net.http_get(url := \'https://example.com/ping\')"\n'
                    f'[[job]]\nname = "{same}"\nschedule = "{NEVER}"\ncommand = "select 1"\n')
    async with running_app(cluster, jobs_file=spec) as (app, pilot):
        table = app.main.jobs_table
        await wait_for(pilot, lambda: str(jobid) in table.rows and str(same_id) in table.rows)
        await wait_for(pilot, lambda: "≠ file: schedule" in table.get_cell(str(jobid),
                                                                          "name").plain)
        assert " http" in table.get_cell(str(jobid), "name").plain  # an HTTP job, marked
        assert "file" not in table.get_cell(str(same_id), "name").plain
        # Marks follow cron.job: one job brought in line, the other drifting away.
        cluster.sql("select cron.alter_job(%s, schedule := '@hourly')", [jobid])
        cluster.sql("select cron.alter_job(%s, command := 'select 2')", [same_id])
        await wait_for(pilot, lambda: "≠ file: command" in table.get_cell(str(same_id),
                                                                         "name").plain)
        assert "file" not in table.get_cell(str(jobid), "name").plain
