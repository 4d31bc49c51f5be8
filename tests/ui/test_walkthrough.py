"""Issue 31's walk-through, as rules the app is held to, at 80x24 and 120x40: no text cut
without a way to read it whole; the footer and the help show the keys that work on the
screen in front; a notification goes when it stops being true. Keys pressed as an operator
would, the screen read as the operator sees it (tests/ui/screen_text.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from textual.command import CommandPalette
from textual.widgets import Button, Input

from tests.conftest import Cluster
from tests.ui.conftest import dialog_ready, running_app, select_job, wait_for
from tests.ui.screen_text import footer, screen, screen_lines
from tui.config import Settings
from tui.db import ConnectOptions
from tui.ui.app import CronJobsApp
from tui.ui.screens.audit import AuditScreen
from tui.ui.screens.confirm import RunNowScreen
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.doctor import DoctorScreen
from tui.ui.screens.form import JobFormScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.main import MainScreen
from tui.ui.screens.maintenance import MaintenanceScreen
from tui.ui.screens.run import RunDetailScreen

SIZES = [(80, 24), (120, 40)]
sizes = pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")

SECRET = "sk_live_abcdefghijklmnop1234"
LONG = ("ERROR:  canceling statement due to statement timeout; "
        + " ".join(f"context-{i}" for i in range(40))
        + f" Authorization: Bearer {SECRET} END-OF-MESSAGE")


def add_run(cluster: Cluster, jobid: int, status: str = "failed", message: str = LONG,
            ago: str = "1 hour") -> int:
    return cluster.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) values (%s, nextval('cron.runid_seq'), "
        "1, 'postgres', 'postgres', 'select 1', %s, %s, now() - %s::interval, "
        "now() - %s::interval + interval '1 second') returning runid",
        [jobid, status, message, ago, ago])


def joined(app: Any) -> str:
    """The screen's words, lines joined: a wrapped text reads as one."""
    return " ".join(line.strip() for line in screen_lines(app))


async def focus_runs(app: Any, pilot: Any) -> None:
    await pilot.press("tab")
    await wait_for(pilot, lambda: app.focused is app.main.runs_table)


# -- 1: a run's message, whole -------------------------------------------------------------

@sizes
async def test_enter_on_a_run_shows_its_message_whole(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    jobid, name = make_job()
    runid = add_run(cluster, jobid)
    async with running_app(cluster, size=size) as (app, pilot):
        table = app.main.runs_table
        await wait_for(pilot, lambda: str(runid) in table.rows)
        assert "END-OF-MESSAGE" not in screen(app)  # the column cuts it
        await focus_runs(app, pilot)
        for _ in range(table.index_of(str(runid)) or 0):
            await pilot.press("down")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.pause(0.2)
        text = joined(app)
        assert f"Run #{runid} of {name}" in text
        assert "context-0 context-1" in text and "context-39" in text
        assert "END-OF-MESSAGE" in text and SECRET not in text and "Bearer ••••••" in text
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, MainScreen))

        # The job's history too.
        await pilot.press("tab")
        await select_job(app, pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen)
                       and app.screen.query_one("#history").row_count > 0)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, RunDetailScreen))
        await pilot.pause(0.2)
        assert "END-OF-MESSAGE" in joined(app) and SECRET not in screen(app)


# -- 2: the stream is held only while it is read -------------------------------------------

@sizes
async def test_leaving_the_runs_pane_shows_the_runs_that_waited(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    jobid, _ = make_job()
    for _ in range(3):
        add_run(cluster, jobid, "succeeded", "1 row")
    async with running_app(cluster, size=size) as (app, pilot):
        table = app.main.runs_table
        await wait_for(pilot, lambda: table.row_count >= 3)
        await focus_runs(app, pilot)
        await pilot.press("down", "down")
        fresh = add_run(cluster, jobid, "failed", "ERROR:  new failure", ago="0 seconds")
        await wait_for(pilot, lambda: any(r.runid == fresh for r in table.pending))
        assert str(fresh) not in table.rows  # held while read
        await wait_for(pilot, lambda: "new: Home to show" in screen(app))
        await pilot.press("tab")  # away from the runs pane
        await wait_for(pilot, lambda: str(fresh) in table.rows and not table.pending)
        await wait_for(pilot, lambda: "new: Home" not in screen(app))
        # The jobs pane's Home moves its own cursor; the stream is not held any more.
        await pilot.press("home")
        fresher = add_run(cluster, jobid, "failed", "ERROR:  another", ago="0 seconds")
        await wait_for(pilot, lambda: str(fresher) in table.rows)


# -- 6: the audit view, in words ---------------------------------------------------------

@sizes
async def test_the_audit_view_says_what_each_entry_did(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A log of this test's own: the suite's other entries (of other servers, too) would
    # lengthen the title and push these four below an 80x24 screen's few rows.
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    jobid, name = make_job()
    async with running_app(cluster, size=size) as (app, pilot):
        await wait_for(pilot, lambda: app.job_by_id(jobid) is not None)
        job = app.job_by_id(jobid)
        app.record("trigger", job.label, before=job, outcome="succeeded",
                   detail="recorded, as postgres, time limit: none; manual run by postgres")
        app.record("pause", job.label, before=job, after=replace(job, active=False))
        app.record("edit", job.label, before=job, after=replace(job, schedule="@daily"))
        app.record("delete", job.label, before=job)
        await pilot.press("a")
        await wait_for(pilot, lambda: isinstance(app.screen, AuditScreen))
        await pilot.pause(0.3)
        lines = screen_lines(app)
        mine = [line for line in lines if name[:20] in line]
        for words in ("ran now", "paused", "edited schedule", "deleted"):
            row = next((line for line in mine if words in line), None)
            assert row is not None, (words, lines)
        # Job and Outcome kept, whatever the width.
        assert any("succeeded" in line for line in mine) and sum("ok" in line for line in mine) >= 3
        text = screen(app)
        assert "True" not in text and "→ -" not in text
        # The newest entry (the delete) whole below: what was deleted, not "→ -".
        assert "schedule: 0 0 31 2 *" in text
        await pilot.press("down", "enter")  # the edit, then into its whole entry
        await pilot.pause(0.2)
        assert "schedule: 0 0 31 2 * → @daily" in joined(app)


# -- 8: the doctor speaks as the command line ------------------------------------------------

@sizes
async def test_the_doctor_view_uses_the_command_lines_words(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    jobid, name = make_job()
    for i in range(4):
        add_run(cluster, jobid, "failed", "ERROR:  relation does not exist", ago=f"{i + 1} min")
    async with running_app(cluster, size=size) as (app, pilot):
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen)
                       and "checking" not in str(app.screen.body.render()))
        report = str(app.screen.body.render())
        assert "PROBLEM" in report and "FAIL " not in report and "warn " not in report
        words = " ".join(report.split())  # as wrapped to the screen's width
        assert "'#ID'" not in words and f"--job '#{jobid}'" in words, report


# -- 9: help from the bindings of the screen shown --------------------------------------------

async def help_rows(app: Any, pilot: Any, key: str = "question_mark") -> dict[str, str]:
    await pilot.press(key)
    await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
    rows = app.screen.rows + [r for _, section in app.screen.sections for r in section]
    text = screen(app)
    assert "_sign" not in text and "super" not in text and "ctrl+" not in text
    does = [r.does for r in app.screen.rows]
    assert len(does) == len(set(does)), does  # each thing once (Tab was twice)
    result = {r.does: r.keys for r in rows}
    await pilot.press("escape")
    return result


@sizes
async def test_help_lists_the_keys_of_the_screen_shown(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    _, name = make_job()
    async with running_app(cluster, size=size) as (app, pilot):
        await select_job(app, pilot, name)
        main = await help_rows(app, pilot)
        assert main["Open the job"] == "Enter" and main["Last row"] == "End"
        assert main["Copy selected text"] == "Ctrl+C" and main["Doctor"] == "!"
        assert main["Save"] == "Ctrl+S" and main["Reveal secrets"] == "Ctrl+R"
        assert main["Indent"] == "Ctrl+T"
        assert "Older runs" not in main  # the detail's
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        detail = await help_rows(app, pilot)
        assert detail["Open the run, whole"] == "Enter"
        assert detail["Older runs"].startswith(">") and detail["Newer runs"].startswith("<")
        assert "Open the job" not in detail and "Send HTTP" not in detail
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = await help_rows(app, pilot, "f1")
        assert form["Save"] == "Ctrl+S" and form["Indent"] == "Ctrl+T"
        assert "Trigger" not in form


# -- 10: the footer of the screen in front ----------------------------------------------------

@sizes
async def test_the_footer_shows_the_keys_of_the_screen_in_front(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    _, name = make_job()
    async with running_app(cluster, size=size) as (app, pilot):
        await select_job(app, pilot, name)
        bottom = footer(app)
        for key in ("New", "Refresh", "Help", "Quit", "palette"):
            assert key in bottom, bottom
        await pilot.press("s")
        await wait_for(pilot, lambda: dialog_ready(app))
        await wait_for(pilot, lambda: "Cancel" in footer(app))  # drawn (a busy machine)
        bottom = footer(app)
        assert "Trigger" not in bottom and "Pause" not in bottom
        await pilot.press("escape")
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await wait_for(pilot, lambda: "Back" in footer(app))
        assert "Send HTTP" not in footer(app)


# -- 11: notifications that stop being true go, and cover no control ---------------------------

@sizes
async def test_a_notification_goes_when_it_stops_being_true(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    jobid, name = make_job("select pg_sleep(1.5)")
    app = CronJobsApp(ConnectOptions(dbname=cluster.conninfo), Settings(refresh_interval=0.5))
    async with app.run_test(size=size, notifications=True) as pilot:  # toasts shown
        await select_job(app, pilot, name)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, RunNowScreen))
        app.screen.query_one("#confirm", Button).press()
        await wait_for(pilot, lambda: bool(app.manual))
        await wait_for(pilot, lambda: "x cancels" in screen(app))
        await wait_for(pilot, lambda: not app.manual, timeout=30)
        await wait_for(pilot, lambda: "succeeded" in screen(app))
        assert "x cancels" not in screen(app)
        entry = app.audit.tail(1)[0]
        assert "time limit: none beyond the server's own statement_timeout;" in entry["detail"]

        # The filter input is never under a notification.
        await pilot.press("o", "slash")
        await wait_for(pilot, lambda: app.focused is app.main.query_one("#filter", Input))
        await pilot.pause(0.3)
        toasts = list(app.screen.query("Toast"))
        assert toasts
        box = app.main.query_one("#filter", Input).region
        assert not any(t.region.overlaps(box) for t in toasts)
        await pilot.press("escape", "escape")

        # Nor the edit form's Save and Cancel.
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        app.notify("a notification over the form")
        await pilot.pause(0.5)
        toasts = list(app.screen.query("Toast"))
        assert toasts
        for button in app.screen.query(Button):
            assert not any(t.region.overlaps(button.region) for t in toasts), button.id


# -- 12: the detail's next runs ------------------------------------------------------------

@sizes
async def test_the_detail_keeps_its_next_runs_in_view_and_whole(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    jobid, name = make_job(schedule="*/10 * * * *")
    for i in range(30):
        add_run(cluster, jobid, "succeeded" if i % 3 else "failed", "1 row", ago=f"{i} min")
    async with running_app(cluster, size=size) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        await pilot.pause(1.0)
        lines = screen_lines(app)
        heading = next(i for i, line in enumerate(lines) if "Next runs" in line)
        upcoming = lines[heading + 1:heading + 6]
        assert all(" in " in line for line in upcoming), lines
        assert not any("…" in line for line in upcoming), upcoming


# -- 13: maintenance says what it will do -----------------------------------------------------

async def test_maintenance_counts_what_a_purge_deletes_and_shows_the_sql_as_written(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, _ = make_job()
    for _ in range(3):
        add_run(cluster, jobid, "succeeded", "1 row", ago="40 days")
    for size in SIZES:
        async with running_app(cluster, size=size) as (app, pilot):
            await pilot.press("m")
            await wait_for(pilot, lambda: isinstance(app.screen, MaintenanceScreen)
                           and "on disk" in screen(app))
            assert "table in" not in screen(app)
            expected = cluster.value("select count(*) from cron.job_run_details "
                                     "where end_time < now() - interval '30 days'")
            app.screen.query_one("#purge", Button).press()
            await wait_for(pilot, lambda: dialog_ready(app))
            await pilot.pause(0.2)
            assert f"Delete {expected:,} run" in joined(app)
            await pilot.press("escape")
            await wait_for(pilot, lambda: isinstance(app.screen, MaintenanceScreen))
            app.screen.query_one("#schedule", Button).press()
            await wait_for(pilot, lambda: dialog_ready(app))
            await pilot.pause(0.2)
            question = str(app.screen.query_one(".question").render())
            zone = app.facts.scheduler_timezone
            assert f"at 03:17 {zone}" in question
            assert "\\n" not in question and "''" not in question
            assert not question.rstrip().endswith("…")
            assert "delete from cron.job_run_details d where" in question
            await pilot.press("escape")


# -- 14: the palette's own entries first, naming the job ---------------------------------------

@sizes
async def test_the_palette_opens_on_the_apps_actions_naming_the_job(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]], size: tuple[int, int]
        ) -> None:
    _, name = make_job()
    async with running_app(cluster, size=size) as (app, pilot):
        await select_job(app, pilot, name)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette))
        await wait_for(pilot, lambda: f"Trigger {name} now" in screen(app))
        lines = screen_lines(app)
        first = next(i for i, line in enumerate(lines) if f"Trigger {name} now" in line)
        assert not any("Theme" in line or "Screenshot" in line for line in lines[:first])
        await pilot.press("enter")  # the first entry: trigger, which asks first
        await wait_for(pilot, lambda: isinstance(app.screen, RunNowScreen))
        await pilot.press("escape")
