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


#: Orphaned runs the confirmation lists one by one (then "and N more").
LISTED = 12


def orphans_said(found: maint.Orphans, role: str | None) -> str:
    """The orphaned runs' line: how many, or that it cannot be told (never a guess)."""
    said = ""
    if found.runs:
        n = len(found.runs)
        said = (f"{n} orphaned run{'' if n == 1 else 's'}: pg_cron shows "
                f"{'it' if n == 1 else 'them'} in progress, but nobody will finish "
                f"{'it' if n == 1 else 'them'}")
    if found.unknown:
        who = f"role {one_line(role, 40)!r}" if role else "this role"
        unknown = (f"whether {found.unknown} unfinished run(s) are orphaned is unknown "
                   f"({who} cannot see other backends, or this is a standby)")
        said = f"{said}; {unknown}" if said else f"Orphaned runs: unknown: {unknown}"
    return said or "No orphaned run now."


class MaintenanceScreen(FailuresGoUp, ModalScreen[None]):
    """Size, index on request (CONCURRENTLY, with progress), purge in batches, a purge job,
    orphaned runs marked failed."""

    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "MaintenanceScreen") + """
    MaintenanceScreen > Vertical { width: 84; }
    MaintenanceScreen .row { height: auto; margin-top: 1; }
    MaintenanceScreen .row Static { width: auto; margin-top: 1; }
    MaintenanceScreen #days { width: 12; }
    MaintenanceScreen ProgressBar { margin-top: 1; }
    MaintenanceScreen #status { height: auto; margin-top: 1; }
    MaintenanceScreen #orphans { width: 1fr; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self) -> None:
        super().__init__()
        self.cancel = asyncio.Event()
        self.busy = False
        self.orphans: maint.Orphans | None = None
        self.marked_any = False

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text("Run history maintenance", style="bold"), markup=False)
            yield Static("reading…", id="size", markup=False)
            # Shown only when there is something to say about orphaned runs.
            with Horizontal(classes="row", id="orphans-row"):
                yield Static("", id="orphans", markup=False)
                yield Button("Mark failed", id="mark", variant="error")
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
        self.query_one("#orphans-row").display = False
        self.load()
        self.load_orphans()

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

    @work(group="maintenance.orphans", exit_on_error=False)
    async def load_orphans(self) -> None:
        try:
            found = await maint.orphaned_runs(self.opts)
        except DatabaseError as exc:
            self.orphans = None
            self.query_one("#orphans", Static).update(
                plain(f"Could not read the unfinished runs: {exc}"))
            self.query_one("#orphans-row").display = True
            self.query_one("#mark", Button).display = False
            return
        self.orphans = found
        facts = operator_of(self).facts
        self.query_one("#orphans", Static).update(
            orphans_said(found, facts.current_user if facts else None))
        self.query_one("#orphans-row").display = bool(
            found.runs or found.unknown or self.marked_any)
        mark = self.query_one("#mark", Button)
        mark.display = self.may_mark
        mark.disabled = self.busy

    @property
    def may_mark(self) -> bool:
        """Orphaned runs to mark, and the right to: the privilege, and not read-only."""
        found = self.orphans
        return (found is not None and bool(found.runs) and found.may_mark
                and not operator_of(self).read_only)

    def _working(self, busy: bool) -> None:
        self.busy = busy
        self.cancel.clear()
        for button in ("index", "purge", "schedule", "mark"):
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
        elif button == "mark":
            self.mark_orphans()

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

    @work(group="maintenance", exclusive=True, exit_on_error=False)
    async def mark_orphans(self) -> None:
        found = self.orphans
        if found is None or not self.may_mark:
            return
        n = len(found.runs)
        question = Text(f"Mark {n} orphaned run{'' if n == 1 else 's'} failed (end_time now, "
                        "a message saying why)? Each is judged again when marked: a run "
                        "that finished meanwhile is left alone.\n\n")
        for run in found.runs[:LISTED]:  # the dialog's buttons must stay on the screen
            job = one_line(run.jobname, 30) if run.jobname is not None else "(job unseen)"
            started = (f"started {run.start_time:%Y-%m-%d %H:%M:%S}" if run.start_time
                       else "not started")
            question.append(f"run {run.runid} {job} {run.status!r}, {started}: ")
            question.append(f"{run.why}\n", style="dim")
        if n > LISTED:
            question.append(f"and {n - LISTED} more\n")
        if not await self.app.push_screen_wait(ConfirmScreen(question, "Mark failed",
                                                             danger=True)):
            return
        self._working(True)
        try:
            marked = await maint.mark_orphans_failed(self.opts, [r.runid for r in found.runs])
        except DatabaseError as exc:
            self.status(f"Not marked: {exc}")
            operator_of(self).record("mark failed", None, outcome="error",
                                     detail=f"runs {[r.runid for r in found.runs]}: {exc}")
            return
        finally:
            self._working(False)
        self.marked_any = True
        left = n - len(marked)
        self.notify(f"{len(marked)} run{'' if len(marked) == 1 else 's'} marked failed"
                    + (f"; {left} no longer orphaned, left alone" if left else ""))
        operator_of(self).record("mark failed", None,
                                 detail=f"orphaned runs {marked} marked failed"
                                        + (f"; {left} left alone" if left else ""))
        self.load_orphans()
        operator_of(self).refresh_data()

    def action_close(self) -> None:
        self.cancel.set()  # a purge stops after its current batch, a build is cancelled
        self.dismiss(None)
