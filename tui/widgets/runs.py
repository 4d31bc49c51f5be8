"""The live run stream: newest first, bounded, and still while the operator reads back.

New runs are added on top and the oldest removed; the rows in between are never rebuilt, so a
refresh that brings a few runs costs a few rows, not five hundred.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING

from rich.text import Text
from textual.binding import Binding
from textual.widgets._data_table import RowKey

from tui import format as fmt
from tui.models import Run
from tui.secrets import mask
from tui.text import one_line
from tui.widgets.table import Table

if TYPE_CHECKING:
    from tui.insight.lag import Usuals

#: The stream keeps this many runs; older ones fall off (memory stays bounded).
KEEP = 500
#: What `f` cycles through: every run, then one status at a time.
STATUS_FILTERS: list[str | None] = [None, "failed", "succeeded", "running", "starting"]


class RunsTable(Table):
    DEFAULT_CSS = "RunsTable { height: 1fr; scrollbar-size-horizontal: 1; }"
    BINDINGS = [Binding("home", "newest", "Newest runs", id="runs.newest", show=False)]

    def action_newest(self) -> None:
        """Back to the top, where new runs scroll in (and those that waited are shown)."""
        self.move_cursor(row=0)
        if self.pending:
            self.catch_up()

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.runs: OrderedDict[int, Run] = OrderedDict()  # newest first
        self.pending: list[Run] = []
        self.status_filter: str | None = None
        self.job_filter: int | None = None
        for key, label in [("start", "Started"), ("job", "Job"), ("status", "Status"),
                           ("took", "Took"), ("message", "Message")]:
            self.add_column(label, key=key)

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
        only when its run did change: any touched cell makes the whole table draw again, and
        a long run is reported at every refresh until it ends."""
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
        if len(gone) > 50 or not self.rows:
            self._rebuild()
            return
        for runid in gone:
            if str(runid) in self.rows:
                self.remove_row(str(runid))
        for run in fresh:
            if run.runid in self.runs:
                self.add_row(*self._cells(run), key=str(run.runid))
        if fresh:
            # New rows were appended: put every row where the newest-first order wants it.
            self._row_locations = type(self._row_locations)(
                {RowKey(str(runid)): index for index, runid in enumerate(self.runs)})
            self._update_count += 1
            self.refresh()
        self.move_cursor(row=0)

    def _update_row(self, run: Run) -> None:
        """A run already kept, in its latest state: its row is touched only if that changed."""
        if self.runs[run.runid] == run:
            return
        self.runs[run.runid] = run
        if str(run.runid) in self.rows:
            for key, cell in zip(("status", "took", "message"), self._cells(run)[2:]):
                self.update_cell(str(run.runid), key, cell)

    #: Each job's usual lag and duration (tui/insight/lag), set by the app once a minute.
    usual: Usuals | None = None

    def set_usual(self, usual: Usuals) -> None:
        """New usual values: the Took cells whose flag they change are redrawn."""
        self.usual = usual
        for run in self.runs.values():
            key = str(run.runid)
            if key in self.rows:
                took = self._took(run)
                if self.get_cell(key, "took") != took:
                    self.update_cell(key, "took", took)

    def _took(self, run: Run) -> Text:
        took = Text(fmt.duration(run.duration))
        flag = self.usual.flag(run.jobid, run.runid, run.start_time, run.end_time,
                               run.return_message) if self.usual is not None else None
        if flag:
            took.append(f" {flag}", style="bold red")
        return took

    #: pg_net's answers to HTTP runs, by runid (tui/outcome), set by the app once a minute.
    http: dict = {}  # type: ignore[type-arg]

    def set_http(self, outcomes) -> None:  # type: ignore[no-untyped-def]
        """New answers: the Status cells they change are redrawn."""
        kept = set(self.runs) | {run.runid for run in self.pending}
        self.http = {runid: got for runid, got in {**self.http, **outcomes}.items()
                     if runid in kept}  # bounded like the stream itself
        for runid in outcomes:
            key = str(runid)
            if runid in self.runs and key in self.rows:
                cell = self._status(self.runs[runid])
                if self.get_cell(key, "status") != cell:
                    self.update_cell(key, "status", cell)

    def _status(self, run: Run) -> Text:
        """pg_cron's status, then what the endpoint answered: `succeeded → HTTP 500`."""
        status = run.status or "?"
        cell = Text(one_line(status, 12), style=fmt.STATUS_STYLE.get(status, ""))
        got = self.http.get(run.runid) if run.status == "succeeded" else None
        if got is not None:
            cell.append(f" → {got.short()}", style="bold red" if got.is_error else "dim")
        return cell

    def _rebuild(self) -> None:
        self.clear()
        for run in self.runs.values():
            self.add_row(*self._cells(run), key=str(run.runid))
        self.move_cursor(row=0)

    def _cells(self, run: Run) -> list[Text]:
        started = run.start_time.strftime("%a %H:%M:%S") if run.start_time else "queued"
        room = max(self.size.width - 58, 20)  # the message takes what the other columns leave
        return [
            Text(started, style="dim"),
            Text(one_line(run.job_label, 28)),
            self._status(run),
            self._took(run),
            Text(one_line(mask(run.return_message), room)),
        ]
