"""SVG snapshots of each screen at 80x24 and 120x40 (update: pytest --snapshot-update)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.command import CommandPalette
from textual.containers import VerticalScroll
from textual.pilot import Pilot
from textual.widgets import Button, DataTable, Input

from tests.snapshots.conftest import pinned_app, write_audit
from tui.ui.screens.audit import AuditScreen
from tui.ui.screens.confirm import ConfirmScreen, RunNowScreen, TypeNameScreen
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.form import JobFormScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.http import HttpScreen
from tui.ui.screens.main import ExportScreen
from tui.ui.screens.maintenance import MaintenanceScreen
from tui.ui.screens.run import RunDetailScreen

SIZES = [(80, 24), (120, 40)]


async def loaded(pilot: Pilot[Any]) -> None:
    app = pilot.app
    for _ in range(200):
        if app.facts is not None and app.main.jobs_table.row_count:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.2)


async def server_verdict(pilot: Pilot[Any]) -> None:
    """The form asks the server about the schedule a moment after typing: wait for it.
    And hold the cursors still: a blinking cursor is caught on or off at random."""
    for widget in pilot.app.screen.query("Input, TextArea"):
        widget.cursor_blink = False  # type: ignore[attr-defined]
    verdict = pilot.app.screen.query_one("#server-verdict")
    for _ in range(200):
        if "server:" in str(verdict.render()):
            break
        await pilot.pause(0.05)


async def on_screen(pilot: Pilot[Any], kind: type, ready: str | None = None) -> None:
    for _ in range(200):
        if isinstance(pilot.app.screen, kind) and (
                ready is None or pilot.app.screen.query(ready)):
            break
        await pilot.pause(0.05)
    await pilot.pause(0.5)


async def settled(pilot: Pilot[Any]) -> None:
    """Every worker done: the history page, the stats, and the once-a-minute reads that
    follow the first screen."""
    await pilot.pause(2.5)  # the app's first "usual durations" read starts ~2 s after start
    await pilot.app.workers.wait_for_complete()
    table = pilot.app.screen.query_one("#history", DataTable)
    for _ in range(200):  # the seeded job has one run
        if table.row_count:
            break
        await pilot.pause(0.05)
    await pilot.pause(0.3)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_main(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    assert snap_compare(pinned_app(snap_conninfo), terminal_size=size, run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_read_only(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    assert snap_compare(pinned_app(snap_conninfo, read_only=True), terminal_size=size,
                        run_before=loaded)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("enter")  # the first job: weekly-adapter-check, key masked
        await on_screen(pilot, JobDetailScreen)
        await settled(pilot)

    assert snap_compare(pinned_app(snap_conninfo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_edit_dialog(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "e")
        await on_screen(pilot, JobFormScreen)
        await pilot.press("end", *" 1-5")  # '5 0 * * * 1-5': extra field, warned
        await server_verdict(pilot)

    assert snap_compare(pinned_app(snap_conninfo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_confirmation(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "s")
        await on_screen(pilot, ConfirmScreen)

    assert snap_compare(pinned_app(snap_conninfo), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_error(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    """The server refuses an edit (no such database): its message, and nothing written."""
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await pilot.press("down", "e")
        await on_screen(pilot, JobFormScreen)
        form = pilot.app.screen
        await server_verdict(pilot)
        form.query_one("#database").value = "no_such_db"
        await pilot.press("ctrl+s")
        for _ in range(100):
            if "Not saved" in str(form.query_one("#error").render()):
                break
            await pilot.pause(0.05)
        await pilot.pause(0.3)

    assert snap_compare(pinned_app(snap_conninfo), terminal_size=size, run_before=run_before)


# -- every other screen and dialog (issue 31) -------------------------------------------------

def snapshot(snap_compare: Any, snap_conninfo: str, size: tuple[int, int],
             steps: Any, *, read_only: bool = False) -> bool:
    async def run_before(pilot: Pilot[Any]) -> None:
        await loaded(pilot)
        await steps(pilot)
        for widget in pilot.app.screen.query("Input, TextArea"):
            widget.cursor_blink = False  # type: ignore[attr-defined]
        await pilot.pause(0.3)
        # A scroll still gliding (help's scrollbar, half a cell on) is caught mid-way on a
        # busy machine: the picture is taken once every animation has ended.
        await pilot.wait_for_scheduled_animations()

    return bool(snap_compare(pinned_app(snap_conninfo, read_only=read_only),
                             terminal_size=size, run_before=run_before))


async def until(pilot: Pilot[Any], condition: Any) -> None:
    for _ in range(200):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {condition}")


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_detail(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    """Enter on a run of the stream: the run whole (here the statement timeout)."""
    async def steps(pilot: Pilot[Any]) -> None:
        table = pilot.app.main.runs_table
        await pilot.press("tab")
        for _ in range(table.row_count):  # to the run cut short by its statement timeout
            key = table.cursor_key
            if key is not None and table.runs[int(key)].status == "failed" \
                    and "timeout" in (table.runs[int(key)].return_message or ""):
                break
            await pilot.press("down")
        await pilot.press("enter")
        await on_screen(pilot, RunDetailScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_detail_of_a_sql_job(snap_compare: Any, snap_conninfo: str,
                             size: tuple[int, int]) -> None:
    """A job that is not HTTP: no `h` in the footer; next runs first on the right."""
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "enter")  # daily-usage-rollup
        await on_screen(pilot, JobDetailScreen)
        await settled(pilot)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_audit(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        write_audit(pilot.app.audit_server)
        await pilot.press("a")
        await on_screen(pilot, AuditScreen)
        await pilot.press("down")  # the pause: its entry whole below

    assert snapshot(snap_compare, snap_conninfo, size, steps)


async def open_maintenance(pilot: Pilot[Any]) -> None:
    await pilot.press("m")
    await on_screen(pilot, MaintenanceScreen)
    size = pilot.app.screen.query_one("#size")
    await until(pilot, lambda: "on disk" in str(size.render()))


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_maintenance(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    assert snapshot(snap_compare, snap_conninfo, size, open_maintenance)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_purge_confirmation(snap_compare: Any, snap_conninfo: str,
                            size: tuple[int, int]) -> None:
    """The runs it deletes, counted: older than 1 day, so every seeded run, whatever the
    day the test runs (the seeded runs are of November 2026)."""
    async def steps(pilot: Pilot[Any]) -> None:
        await open_maintenance(pilot)
        pilot.app.screen.query_one("#days", Input).value = "1"
        pilot.app.screen.query_one("#purge", Button).press()
        await on_screen(pilot, ConfirmScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_daily_purge_confirmation(snap_compare: Any, snap_conninfo: str,
                                  size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await open_maintenance(pilot)
        pilot.app.screen.query_one("#schedule", Button).press()
        await on_screen(pilot, ConfirmScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_help(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        # Help lists the focused widget's keys too: ask once the jobs table has the focus.
        await until(pilot, lambda: pilot.app.focused is pilot.app.main.jobs_table)
        await pilot.press("question_mark")
        await on_screen(pilot, HelpScreen)
        for scroll in pilot.app.screen.query(VerticalScroll):
            scroll.scroll_home(animate=False)  # the top of the list, whatever came before
            # The picture is of what the rows say. The scrollbar's thumb came out half a cell
            # longer in a full -n 3 run than alone (the list a row longer below the fold, for
            # a reason not yet found; test_operator and test_walkthrough check the rows).
            scroll.styles.scrollbar_size_vertical = 0

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_palette(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+p")
        await on_screen(pilot, CommandPalette)
        await until(pilot, lambda: pilot.app.screen.query("CommandList")
                    and pilot.app.screen.query_one("CommandList").option_count > 0)
        await pilot.pause(0.5)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_new_job(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("n")
        await on_screen(pilot, JobFormScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_delete_confirmation(snap_compare: Any, snap_conninfo: str,
                             size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "d")
        await on_screen(pilot, TypeNameScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_run_now(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("down", "t")
        await on_screen(pilot, RunNowScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_http(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("h")  # weekly-adapter-check
        await on_screen(pilot, HttpScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_export(snap_compare: Any, snap_conninfo: str, size: tuple[int, int]) -> None:
    async def steps(pilot: Pilot[Any]) -> None:
        await pilot.press("ctrl+e")
        await on_screen(pilot, ExportScreen)

    assert snapshot(snap_compare, snap_conninfo, size, steps)
