"""The live run stream: newest first, bounded, and still while the operator reads back.

New runs are added on top and the oldest removed; the rows in between are never rebuilt, so a
refresh that brings a few runs costs a few rows, not five hundred (and only the rows on screen
are drawn: tui/ui/widgets/table.py).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.screen import ModalScreen

from tui import format as fmt
from tui.masking import mask
from tui.models import Run
from tui.text import one_line
from tui.ui.widgets.table import Cell, Piece, Table, cell

if TYPE_CHECKING:
    from tui.http_jobs.outcome import HttpOutcome
    from tui.insight.lag import Usuals

#: The stream keeps this many runs; older ones fall off (memory stays bounded).
KEEP = 500
#: What `f` cycles through: every run, then one status at a time.
STATUS_FILTERS: list[str | None] = [None, "failed", "succeeded", "running", "starting"]


class RunsTable(Table):
    DEFAULT_CSS = "RunsTable { height: 1fr; scrollbar-size-horizontal: 1; }"
    BINDINGS = [Binding("home", "newest", "Newest runs", id="runs.newest", show=False),
                Binding("enter", "select", "Open the run", id="runs.open", show=False)]

    def action_newest(self) -> None:
        """Back to the top, where new runs scroll in (and those that waited are shown)."""
        self.move_cursor(row=0)
        if self.pending:
            self.catch_up()

    def on_blur(self) -> None:
        """The stream is held only while the operator reads it: leaving the pane (Tab, a
        click elsewhere, a dialog) shows what arrived meanwhile, so no new failure waits
        unseen behind a pane nobody looks at. A dialog opened from here (a run's detail)
        keeps the place, so Esc comes back to the run that was read."""
        if self.pending and not isinstance(self.app.screen, ModalScreen):
            self.action_newest()

    def action_select(self) -> None:
        """Enter: the run under the cursor, whole (its message is cut in the cell)."""
        key = self.cursor_key
        run = self.runs.get(int(key)) if key is not None else None
        if run is None:
            return
        from tui.ui.screens.run import RunDetailScreen

        got = self.http.get(run.runid) if run.status == "succeeded" else None
        flag = self.usual.flag(run.jobid, run.runid, run.start_time, run.end_time,
                               run.return_message) if self.usual is not None else None
        self.app.push_screen(RunDetailScreen(run, answer=got.short() if got else None,
                                             flag=flag or None))

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.runs: OrderedDict[int, Run] = OrderedDict()  # newest first
        self.pending: list[Run] = []
        self.status_filter: str | None = None
        self.job_filter: int | None = None
        self.set_columns([("start", "Started"), ("job", "Job"), ("status", "Status"),
                          ("took", "Took"), ("message", "Message")])

    @property
    def following(self) -> bool:
        """True while the cursor is on the newest run: new runs then scroll in."""
        return self.cursor_row <= 0

    def replace(self, runs: list[Run]) -> None:
        """A fresh backlog (newest first), e.g. after changing the filter."""
        self.runs = OrderedDict((r.runid, r) for r in runs[:KEEP])
        self.pending = []
        self._rebuild()

    def add(self, new: list[Run], changed: list[Run]) -> None:
        """New runs (oldest first) and runs whose state may have changed. A row is touched
        only when its run did change (a touched row on screen is drawn again), and a long run
        is reported at every refresh until it ends."""
        for run in changed:
            if run.runid in self.runs:
                self._update_row(run)
        if changed and self.pending:
            # A run that arrived while the stream was held waits here, and the stream reports
            # its end only once: keep the waiting copy current, or it would be shown as it
            # started (`running`) for good.
            latest = {run.runid: run for run in changed}
            self.pending = [latest.get(run.runid, run) for run in self.pending]
        if not new:
            return
        self.pending.extend(new)
        del self.pending[:-KEEP]  # only the newest KEEP could ever be shown: memory stays flat
        if self.following:
            self.catch_up()

    def add_manual(self, run: Run) -> None:
        """A manual run that left no row in cron.job_run_details: shown, marked, kept here."""
        self.pending.append(run)
        if self.following:
            self.catch_up()

    def catch_up(self) -> None:
        """Show the runs that waited: new rows on top, the oldest fall off the bottom; the
        rows already shown are kept, not rebuilt."""
        fresh: list[Run] = []
        for run in self.pending:
            if run.runid in self.runs:
                self._update_row(run)
                continue
            self.runs[run.runid] = run
            self.runs.move_to_end(run.runid, last=False)
            fresh.append(run)
        self.pending = []
        gone: list[int] = []
        while len(self.runs) > KEEP:
            gone.append(self.runs.popitem(last=True)[0])
        for runid in gone:
            self.drop(str(runid))
        for run in fresh:
            if run.runid in self.runs:
                self.put(str(run.runid), self._cells(run))
        if fresh or gone:
            self.set_order([str(runid) for runid in self.runs], follow=False)
        self.move_cursor(row=0)

    def _update_row(self, run: Run) -> None:
        """A run already kept, in its latest state: its row is touched only if that changed."""
        if self.runs[run.runid] == run:
            return
        self.runs[run.runid] = run
        if str(run.runid) in self.cells:
            self.put(str(run.runid), self._cells(run))

    #: Each job's usual lag and duration (tui/insight/lag), set by the app once a minute.
    usual: Usuals | None = None

    def set_usual(self, usual: Usuals) -> None:
        """New usual values: the Took cells whose flag they change are redrawn."""
        self.usual = usual
        for run in self.runs.values():
            self._redraw(run)

    def _redraw(self, run: Run) -> None:
        """The run's row, drawn again only if its cells changed."""
        key = str(run.runid)
        before = self.cells.get(key)
        if before is not None:
            cells = self._cells(run)
            if cells != before:
                self.put(key, cells)

    def _took(self, run: Run) -> Cell:
        took: list[Piece] = [(fmt.duration(run.duration), "")]
        flag = self.usual.flag(run.jobid, run.runid, run.start_time, run.end_time,
                               run.return_message) if self.usual is not None else None
        if flag:
            took.append((f" {flag}", "bold red"))
        return tuple(took)

    #: pg_net's answers to HTTP runs, by runid (tui/outcome), set by the app once a minute.
    http: dict[int, HttpOutcome] = {}

    def set_http(self, outcomes: dict[int, HttpOutcome]) -> None:
        """New answers: the Status cells they change are redrawn."""
        kept = set(self.runs) | {run.runid for run in self.pending}
        self.http = {runid: got for runid, got in {**self.http, **outcomes}.items()
                     if runid in kept}  # bounded like the stream itself
        for runid in outcomes:
            if runid in self.runs:
                self._redraw(self.runs[runid])

    def _status(self, run: Run) -> Cell:
        """pg_cron's status, then what the endpoint answered: `succeeded → HTTP 500`."""
        status = run.status or "?"
        pieces: list[Piece] = [(one_line(status, 12), fmt.STATUS_STYLE.get(status, ""))]
        got = self.http.get(run.runid) if run.status == "succeeded" else None
        if got is not None:
            pieces.append((f" → {got.short()}", "bold red" if got.is_error else "dim"))
        if run.orphaned:  # its backend is gone: nobody will finish it (tui/rules.py)
            pieces.append((" orphaned", "bold red"))
        return tuple(pieces)

    def _rebuild(self) -> None:
        self.clear()
        for run in self.runs.values():
            self.put(str(run.runid), self._cells(run))
        self.set_order([str(runid) for runid in self.runs], follow=False)
        self.move_cursor(row=0)

    def _cells(self, run: Run) -> list[Cell]:
        started = run.start_time.strftime("%a %H:%M:%S") if run.start_time else "queued"
        room = max(self.size.width - 58, 20)  # the message takes what the other columns leave
        return [
            cell(started, "dim"),
            cell(one_line(run.job_label, 28)),
            self._status(run),
            self._took(run),
            cell(one_line(mask(run.return_message), room)),
        ]
