"""The main screen: the jobs table above, the live run stream below."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label

from tui.models import Job
from tui.screens.operator import OperatorScreen
from tui.widgets.footer import KeyFooter
from tui.widgets.header import ServerHeader
from tui.widgets.jobs import JobsTable
from tui.widgets.line import Line
from tui.widgets.runs import STATUS_FILTERS, RunsTable


class MainScreen(OperatorScreen):
    DEFAULT_CSS = """
    MainScreen .title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    MainScreen #jobs-pane { height: 1fr; }
    MainScreen #runs-pane { height: 1fr; }
    MainScreen #banner { height: auto; display: none; background: $error; padding: 0 1; }
    MainScreen #banner.shown { display: block; }
    MainScreen #filter { dock: bottom; display: none; margin-bottom: 1; }
    MainScreen #filter.shown { display: block; }
    """
    BINDINGS = [
        Binding("slash", "filter", "Filter", id="filter", key_display="/"),
        Binding("o", "sort", "Sort", id="sort", show=False),
        Binding("p", "problems_first", "Problems", id="problems_first"),
        Binding("f", "status_filter", "Runs: status", id="status_filter", show=False),
        Binding("j", "job_filter", "Runs: this job", id="job_filter", show=False),
        Binding("home", "follow", "Runs: newest", id="follow", show=False),
        Binding("escape", "clear_filter", "Clear filter", id="clear_filter", show=False),
        Binding("ctrl+e", "export", "Export runs", id="export", show=False),
    ]

    class Ready(Message):
        """Composed and mounted: the app may start filling it."""

    def compose(self) -> ComposeResult:
        yield ServerHeader(id="header")
        yield Line(id="banner", markup=False)
        with Vertical(id="jobs-pane"):
            yield Line("Jobs", id="jobs-title", classes="title", markup=False)
            yield JobsTable(id="jobs")
        with Vertical(id="runs-pane"):
            yield Line("Runs", id="runs-title", classes="title", markup=False)
            yield RunsTable(id="runs")
        yield Input(placeholder="filter jobs by name, schedule or command (Esc clears)",
                    id="filter")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(JobsTable).focus()
        self.post_message(self.Ready())

    @property
    def jobs_table(self) -> JobsTable:
        return self.query_one(JobsTable)

    @property
    def runs_table(self) -> RunsTable:
        return self.query_one(RunsTable)

    def selected_job(self) -> Job | None:
        jobid = self.jobs_table.selected_jobid
        return self.operator.job_by_id(jobid) if jobid is not None else None

    def banner(self, message: str | None) -> None:
        widget = self.query_one("#banner", Line)
        widget.set_text(message or "", layout=True)
        widget.set_class(bool(message), "shown")

    # -- jobs ----------------------------------------------------------------
    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table is self.jobs_table and event.row_key.value is not None:
            self.operator.open_detail(int(event.row_key.value))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        if event.data_table is self.jobs_table:
            self.jobs_table.sort_by(str(event.column_key.value))
            self.operator.show_jobs()

    def action_sort(self) -> None:
        from tui.widgets.jobs import SORT_NAMES

        self.jobs_table.next_sort()
        self.operator.show_jobs()
        self.notify(f"Sort: {SORT_NAMES[self.jobs_table.sort]}", timeout=3)

    def action_problems_first(self) -> None:
        from tui.widgets.jobs import SORT_NAMES

        self.jobs_table.toggle_problems()
        self.operator.show_jobs()
        self.jobs_table.move_cursor(row=0)
        self.notify(f"Sort: {SORT_NAMES[self.jobs_table.sort]}", timeout=3)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            self.jobs_table.filter_text = event.value
            self.operator.show_jobs()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "filter":
            self.jobs_table.focus()

    def action_clear_filter(self) -> None:
        box = self.query_one("#filter", Input)
        if not box.has_class("shown") and self.operator.back_to_fleet():
            return  # Esc with no filter open: back to the fleet view, when in one
        box.value = ""
        box.remove_class("shown")
        self.jobs_table.focus()

    # -- runs ----------------------------------------------------------------
    def action_status_filter(self) -> None:
        table = self.runs_table
        index = STATUS_FILTERS.index(table.status_filter)
        table.status_filter = STATUS_FILTERS[(index + 1) % len(STATUS_FILTERS)]
        self.operator.restart_stream()

    def action_job_filter(self) -> None:
        table = self.runs_table
        job = self.selected_job()
        # On the job already followed, `j` clears; on another, it follows that one instead.
        table.job_filter = None if job is None or table.job_filter == job.jobid else job.jobid
        self.operator.restart_stream()

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        # Back at the newest run (Home, Up, a click): show what arrived meanwhile.
        if event.data_table is self.runs_table and event.cursor_row == 0 \
                and self.runs_table.pending:
            self.action_follow()

    def action_follow(self) -> None:
        self.runs_table.catch_up()
        self.operator.show_runs_title()

    def action_export(self) -> None:
        self.operator.export_runs()


class ExportScreen(ModalScreen[str | None]):
    """Where to export the runs: a path (.json for JSON, else CSV); Esc cancels."""

    DEFAULT_CSS = """
    ExportScreen { align: center middle; }
    ExportScreen > Vertical { width: 70; height: auto; border: round $primary;
                              padding: 1 2; background: $surface; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="export.cancel")]

    def __init__(self, default: str):
        super().__init__()
        self.default = default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Export the runs of the current filter to (.csv or .json):")
            yield Input(value=self.default, id="export-path")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
