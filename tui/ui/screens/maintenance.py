"""Upkeep of the run history: its size, the (jobid, runid) index, purging old runs."""

from __future__ import annotations

import asyncio

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, ProgressBar, Static

from tui.db import ConnectOptions, DatabaseError
from tui.db import maintenance as maint
from tui.text import inert, one_line, plain
from tui.ui.messages import FailuresGoUp
from tui.ui.screens.confirm import DIALOG_CSS, ConfirmScreen
from tui.ui.services import operator_of
from tui.ui.widgets.footer import KeyFooter


def how_many(counted: maint.PurgeCount) -> str:
    """The runs a purge will delete, as counted: `1,204 runs`, `more than 100,000 runs`."""
    if counted.runs is None:
        return f"the runs (too many to count in {maint.COUNT_TIMEOUT_MS // 1000} s)"
    if not counted.exact:
        return f"more than {counted.runs:,} runs"
    return f"{counted.runs:,} run" + ("" if counted.runs == 1 else "s")


def _bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{n} B"


class MaintenanceScreen(FailuresGoUp, ModalScreen[None]):
    """Size, index on request (CONCURRENTLY, with progress), purge in batches, a purge job."""

    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "MaintenanceScreen") + """
    MaintenanceScreen > Vertical { width: 84; }
    MaintenanceScreen .row { height: auto; margin-top: 1; }
    MaintenanceScreen .row Static { width: auto; margin-top: 1; }
    MaintenanceScreen #days { width: 12; }
    MaintenanceScreen ProgressBar { margin-top: 1; }
    MaintenanceScreen #status { height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self) -> None:
        super().__init__()
        self.cancel = asyncio.Event()
        self.busy = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Run history maintenance", style="bold"), markup=False)
            yield Static("reading…", id="size", markup=False)
            with Horizontal(classes="row"):
                yield Button("Create index", id="index")
                yield Static("  purge runs older than ", markup=False)
                yield Input("30", id="days", type="integer")
                yield Static(" days ", markup=False)
                yield Button("Purge", id="purge", variant="error")
            yield ProgressBar(id="progress", show_eta=False)
            yield Static("", id="status", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Schedule daily purge", id="schedule")
                yield Button("Cancel work", id="stop", disabled=True)
                yield Button("Close", id="close")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#close", Button).focus()
        self._working(False)
        self.load()

    @property
    def opts(self) -> ConnectOptions:
        return operator_of(self).opts

    def status(self, message: str) -> None:
        self.query_one("#status", Static).update(plain(message))  # may hold a server error

    @work(group="maintenance.size", exit_on_error=False)
    async def load(self) -> None:
        try:
            size = await maint.history_size(self.opts)
        except DatabaseError as exc:
            self.query_one("#size", Static).update(plain(f"Could not read the size: {exc}"))
            return
        rows = (f"about {size.rows_estimate:,} runs" if size.rows_estimate is not None
                else "runs not yet counted (PostgreSQL estimates them when it first "
                     "analyzes the table)")
        index = ("a (jobid, runid) index: each job's latest run is cheap" if size.has_index
                 else "an interrupted index build (create it again)" if size.index_building
                 else "NO (jobid, runid) index: latest runs come from the newest 10k only")
        self.query_one("#size", Static).update(
            f"cron.job_run_details: {_bytes(size.total_bytes)} on disk, {rows}\n{index}")
        self.query_one("#index", Button).disabled = size.has_index or self.busy

    def _working(self, busy: bool) -> None:
        self.busy = busy
        self.cancel.clear()
        for button in ("index", "purge", "schedule"):
            self.query_one(f"#{button}", Button).disabled = busy
        # Idle, a bar at --% and a "Cancel work" button would say something runs: they are
        # shown only while something does.
        stop = self.query_one("#stop", Button)
        stop.disabled = not busy
        stop.display = busy
        bar = self.query_one("#progress", ProgressBar)
        bar.display = busy
        if busy:
            bar.update(total=None, progress=0)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id
        if button == "close":
            self.action_close()
        elif button == "stop":
            self.cancel.set()
            self.status("cancelling…")
        elif button == "index":
            self.create_index()
        elif button == "purge":
            self.purge()
        elif button == "schedule":
            self.schedule()

    def _days(self) -> int | None:
        try:
            days = int(self.query_one("#days", Input).value)
        except ValueError:
            days = -1
        if days < 1:
            self.status("Days must be a whole number, 1 or more.")
            return None
        return days

    @work(group="maintenance", exclusive=True, exit_on_error=False)
    async def create_index(self) -> None:
        bar = self.query_one("#progress", ProgressBar)
        self._working(True)

        def progress(p: maint.IndexProgress) -> None:
            bar.update(total=p.total or None, progress=p.done)
            self.status(f"building the index: {p.phase}")

        try:
            built = await maint.create_run_index(self.opts, on_progress=progress,
                                                 cancel=self.cancel)
            self.status("Index created." if built else "The index was already there.")
            operator_of(self).refresh_data()
        except maint.Cancelled as exc:
            self.status(str(exc))
        except DatabaseError as exc:
            self.status(f"Not created: {exc}")
        finally:
            self._working(False)
            self.load()

    @work(group="maintenance", exclusive=True, exit_on_error=False)
    async def purge(self) -> None:
        days = self._days()
        if days is None:
            return
        older = f"older than {days} day" + ("" if days == 1 else "s")
        self.status(f"counting the runs {older}…")
        try:
            counted = await maint.count_purge(self.opts, days)
        except DatabaseError as exc:
            self.status(f"Could not count the runs to delete: {exc}")
            return
        self.status("")
        if counted.runs == 0:
            self.status(f"No run is {older}: nothing to delete.")
            return
        question = (f"Delete {how_many(counted)} {older} from "
                    "cron.job_run_details? This cannot be undone.\nRuns whose end_time is "
                    "null (cut short by a restart) are deleted when they started before then; "
                    "runs whose backend is still alive are kept.")
        if not await self.app.push_screen_wait(ConfirmScreen(question, "Purge", danger=True)):
            return
        bar = self.query_one("#progress", ProgressBar)
        self._working(True)

        def progress(p: maint.PurgeProgress) -> None:
            bar.update(total=p.estimate or None, progress=p.deleted)
            self.status(f"deleted {p.deleted:,} of about {p.estimate:,} runs")

        try:
            result = await maint.purge_history(self.opts, days, on_progress=progress,
                                               cancel=self.cancel)
            how = "Cancelled after" if result.cancelled else "Done:"
            self.status(f"{how} {result.deleted:,} runs deleted in {result.batches} batches; "
                        f"{_bytes(result.bytes_before)} before, {_bytes(result.bytes_after)} "
                        "after vacuum (freed space is reused by new runs).")
            operator_of(self).record("purge", None,
                                     outcome="cancelled" if result.cancelled else "ok",
                                     detail=f"older than {days} days: {result.deleted} runs")
        except DatabaseError as exc:
            self.status(f"Purge stopped: {exc}")
        finally:
            self._working(False)
            self.load()

    @work(group="maintenance", exclusive=True, exit_on_error=False)
    async def schedule(self) -> None:
        days = self._days()
        if days is None:
            return
        statement = maint.purge_job_sql(days)
        facts = operator_of(self).facts
        zone = (facts.scheduler_timezone if facts else None) or "the scheduler's zone (unread)"
        minute, hour = maint.PURGE_JOB_SCHEDULE.split()[:2]
        question = Text(f"Schedule a pg_cron job '{maint.PURGE_JOB_NAME}' that deletes runs "
                        f"older than {days} days every day at {int(hour):02d}:{int(minute):02d} "
                        f"{one_line(zone, 60)} ({maint.PURGE_JOB_SCHEDULE})? It runs:\n\n")
        question.append(inert(maint.purge_command(days).as_string(None)), style="dim")
        if not await self.app.push_screen_wait(ConfirmScreen(question, "Schedule")):
            return
        try:
            jobid = await maint.schedule_purge(operator_of(self).db, days)
        except DatabaseError as exc:
            self.status(f"Not scheduled: {exc}")
            return
        self.status(f"Scheduled as job #{jobid}.")
        operator_of(self).record("create", maint.PURGE_JOB_NAME, detail=statement)
        operator_of(self).refresh_data()

    def action_close(self) -> None:
        self.cancel.set()  # a purge stops after its current batch, a build is cancelled
        self.dismiss(None)
