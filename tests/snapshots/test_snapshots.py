"""SVG snapshots of each screen at 80x24 and 120x40 (update: pytest --snapshot-update)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable

from tests.snapshots.conftest import pinned_app
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.form import JobFormScreen

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
