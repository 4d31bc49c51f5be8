"""The app on a bad night: the server goes away, a lock holds, text is hostile."""

from __future__ import annotations

import re

import psycopg
import pytest
from textual.widgets import Input

from tests.conftest import Cluster
from tests.ui.conftest import NEVER, running_app, select_job, wait_for
from tui.doctor import CHECKS, MARKERS
from tui.doctor.report import ORDER
from tui.ui.screens.doctor import LABEL_WIDTH, DoctorScreen
from tui.ui.screens.form import JobFormScreen
from tui.ui.screens.help import HelpScreen


def banner(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.main.query_one("#banner").render())


def header(app) -> str:  # type: ignore[no-untyped-def]
    return str(app.main.query_one("#header").render())


async def test_server_restart_under_a_running_app(fresh_cluster: Cluster) -> None:
    jobid = fresh_cluster.value("select cron.schedule('restart-probe', %s, 'select 1')", [NEVER])
    async with running_app(fresh_cluster) as (app, pilot):
        table = app.main.runs_table
        fresh_cluster.sandbox.kill()
        await wait_for(pilot, lambda: "connection lost" in banner(app))
        assert "reconnecting" in header(app)
        await pilot.press("question_mark")  # the keyboard still answers
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape")
        last_seen = app.stream.last_runid
        fresh_cluster.sandbox.start()
        fresh_cluster.sandbox.wait_ready()
        runid = fresh_cluster.value(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
            "command, status, return_message, start_time, end_time) values "
            "(%s, nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'select 1', "
            "'succeeded', 'after the restart', now(), now()) returning runid", [jobid])
        # Back with backoff; the stream resumes after the last runid it had seen.
        await wait_for(pilot, lambda: "connected" in header(app) and not banner(app),
                       timeout=40)
        await wait_for(pilot, lambda: str(runid) in table.rows, timeout=10)
        assert app.stream.last_runid >= runid > last_seen


async def test_a_held_lock_times_out_and_the_keyboard_answers(cluster: Cluster) -> None:
    async with running_app(cluster) as (app, pilot):
        app.db.opts = app.db.opts.__class__(**{**app.db.opts.__dict__,
                                               "statement_timeout_ms": 400})
        await app.db.close()  # the next query opens a session with the short timeout
        with psycopg.connect(cluster.conninfo) as locker:
            locker.execute("lock table cron.job in access exclusive mode")
            await wait_for(pilot, lambda: "timed out" in banner(app))
            await pilot.press("question_mark")
            await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen))
            await pilot.press("escape")
            locker.rollback()
        await wait_for(pilot, lambda: not banner(app) and "connected" in header(app))


async def test_hostile_text_is_shown_inert(cluster: Cluster) -> None:
    name = "[bold red]b[/]\x1b\u202e"  # 24 characters once escaped: the column's width
    command = "select '[link=https://x]click[/link]'\r\n\tselect 2 -- \x1b]52;c;aGk=\x07"
    jobid = cluster.value("select cron.schedule(%s, %s, %s)", [name, NEVER, command])
    try:
        async with running_app(cluster) as (app, pilot):
            await wait_for(pilot, lambda: app.job_by_name(name) is not None)
            table = app.main.jobs_table
            cell = table.get_cell(str(jobid), "name")
            # Markup shown, not applied; escape and bidi characters shown as escapes.
            assert cell.plain == "[bold red]b[/]\\x1b\\u202e"
            await select_job(app, pilot, name)
            await pilot.press("enter")
            await pilot.pause(0.5)
            text = app.screen.query_one("#command-text").content.code  # the Syntax shown
            assert "\x1b" not in text and "\\x1b]52" in text and "[link=https://x]" in text
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])


async def test_a_half_typed_edit_survives_a_lost_connection(fresh_cluster: Cluster) -> None:
    jobid = fresh_cluster.value("select cron.schedule('edit-probe', %s, 'select 1')", [NEVER])
    async with running_app(fresh_cluster) as (app, pilot):
        await select_job(app, pilot, "edit-probe")
        await pilot.press("e")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        form = app.screen
        form.query_one("#schedule", Input).value = "@hourly"
        fresh_cluster.sandbox.kill()
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: "Not saved" in str(form.query_one("#error").render()))
        assert app.screen is form  # still open, still holding what was typed
        assert form.query_one("#schedule", Input).value == "@hourly"
        fresh_cluster.sandbox.start()
        fresh_cluster.sandbox.wait_ready()
        assert fresh_cluster.value("select schedule from cron.job where jobid = %s",
                                   [jobid]) == NEVER  # nothing was written, nothing replayed
        await pilot.press("ctrl+s")  # the operator saves again, once
        await wait_for(pilot, lambda: app.screen is not form, timeout=20)
    assert fresh_cluster.value("select schedule from cron.job where jobid = %s",
                               [jobid]) == "@hourly"


async def test_doctor_screen(cluster: Cluster) -> None:
    async with running_app(cluster) as (app, pilot):
        await pilot.press("exclamation_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, DoctorScreen))
        findings = app.screen.query_one("#findings")
        await wait_for(pilot, lambda: "pg_cron.installed" in str(findings.render()))
        text = str(findings.render())
        assert "scheduler.running" in text
        # The summary on top, then the worst first.
        lines = text.splitlines()
        assert re.fullmatch(r"\d+ warnings?, \d+ problems?(, \d+ unknown)?, \d+ ok", lines[0])
        # In the command line's words (PROBLEM, WARNING, unknown, ok), worst first.
        rank = {MARKERS[status]: n for n, status in enumerate(ORDER)}
        marks = [line.split(" ", 1)[0] for line in lines[1:]
                 if line.split(" ", 1)[0] in rank and line[LABEL_WIDTH + 1:][:1] not in " "]
        assert len(marks) == len(CHECKS)
        assert [rank[m] for m in marks] == sorted(rank[m] for m in marks), marks


async def test_no_color_is_honoured(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    async with running_app(cluster) as (app, pilot):
        assert app.no_color
        svg = app.export_screenshot()
        assert "connected" in svg
        # Status colours are gone: no green or red fills in the picture.
        assert "#98e024" not in svg and "#f4005f" not in svg


async def test_nothing_reads_as_current_while_the_server_is_away(fresh_cluster: Cluster) -> None:
    """Stopped under a running app, with a run in progress: the header does not say the
    scheduler is alive, and the jobs read as stale, with their age, until it is back."""
    jobid = fresh_cluster.value("select cron.schedule('stale-probe', %s, 'select 1')", [NEVER])
    fresh_cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command,"
        " status, start_time) values (%s, nextval('cron.runid_seq'), 1, 'postgres', "
        "'postgres', 'select 1', 'running', now())", [jobid])
    async with running_app(fresh_cluster) as (app, pilot):
        title = app.main.query_one("#jobs-title")
        await wait_for(pilot, lambda: "running" in str(
            app.main.jobs_table.get_cell(str(jobid), "last")))
        assert "scheduler alive" in header(app) and "STALE" not in str(title.render())
        assert not app.main.jobs_table.has_class("stale")
        fresh_cluster.sandbox.kill()
        await wait_for(pilot, lambda: "connection lost" in banner(app))
        assert "scheduler alive" not in header(app) and "scheduler unknown" in header(app)
        assert str(title.render()).startswith("STALE, as of ")
        assert app.main.jobs_table.has_class("stale")  # its cells dimmed
        fresh_cluster.sandbox.start()
        fresh_cluster.sandbox.wait_ready()
        await wait_for(pilot, lambda: "connected" in header(app) and not banner(app),
                       timeout=40)
        assert "STALE" not in str(title.render()) and "scheduler alive" in header(app)
        assert not app.main.jobs_table.has_class("stale")
