"""The main screen: the jobs table above, the live run stream below, their titles, and the
export of the runs the stream's filter shows (ctrl+e).

It draws what it is handed: one View per refresh (tui/ui/source.py, `show_view`) and the
outcomes of actions on jobs (`apply`); it keeps no state of the database itself."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from tui.export import EXPORT_MAX, recent_runs, write_runs_file
from tui.format import compact_ago, count
from tui.models import Job
from tui.text import one_line, safe_filename
from tui.ui.messages import JobsColumnsChanged, Outcome
from tui.ui.screens.operator import OperatorScreen
from tui.ui.source import View
from tui.ui.widgets.footer import KeyFooter
from tui.ui.widgets.header import ServerHeader
from tui.ui.widgets.jobs import SORT_NAMES, JobsTable, ProblemCounts
from tui.ui.widgets.line import Line
from tui.ui.widgets.runs import STATUS_FILTERS, RunsTable
from tui.ui.widgets.table import Table
from tui.upcoming import zone_note


class MainScreen(OperatorScreen):
    DEFAULT_CSS = """
    MainScreen .title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    MainScreen #jobs-pane { height: 1fr; }
    MainScreen #runs-pane { height: 1fr; }
    MainScreen #banner { height: auto; display: none; background: $error; padding: 0 1; }
    MainScreen #banner.shown { display: block; }
    MainScreen #filter { dock: bottom; display: none; margin-bottom: 1; }
    MainScreen #filter.shown { display: block; }
    MainScreen JobsTable.stale { text-opacity: 60%; }
    MainScreen ToastRack { margin-bottom: 4; }  /* above the filter, never on it */
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

    def __init__(self) -> None:
        super().__init__()
        # How many jobs' last runs are unknown, counted once per jobs list (see below).
        self._lookback_counted: tuple[list[Job] | None, int, int | None] = (None, 0, None)
        self.problems = ProblemCounts()
        self.view = View("connecting…")  # the last one handed down
        self._warming = False  # warm_up() at work

    def compose(self) -> ComposeResult:
        yield ServerHeader(id="header")
        yield Line(id="banner", markup=False)
        with Vertical(id="jobs-pane"):
            yield Line("Jobs", id="jobs-title", classes="title", markup=False)
            yield JobsTable(id="jobs")
        with Vertical(id="runs-pane"):
            yield Line("Runs", id="runs-title", classes="title", markup=False)
            yield RunsTable(id="runs")
        yield Input(placeholder="filter jobs by name, schedule, command or role (Esc clears)",
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
    def on_table_row_selected(self, event: Table.RowSelected) -> None:
        if event.table is self.jobs_table:
            self.operator.open_detail(int(event.key))

    def on_table_header_selected(self, event: Table.HeaderSelected) -> None:
        if event.table is self.jobs_table:
            self.jobs_table.sort_by(event.column)
            self.show_jobs()

    def action_sort(self) -> None:
        self.jobs_table.next_sort()
        self.show_jobs()
        self.notify(f"Sort: {SORT_NAMES[self.jobs_table.sort]}", timeout=3)

    def action_problems_first(self) -> None:
        self.jobs_table.toggle_problems()
        self.show_jobs()
        self.jobs_table.move_cursor(row=0)
        self.notify(f"Sort: {SORT_NAMES[self.jobs_table.sort]}", timeout=3)

    def action_filter(self) -> None:
        box = self.query_one("#filter", Input)
        box.add_class("shown")
        box.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "filter":
            table = self.jobs_table
            before = table.cursor_key
            table.filter_text = event.value
            self.show_jobs()
            # The job under the cursor filtered out: the cursor goes to the first match, so
            # that typing a name and Enter opens that job, not whichever took its row number.
            if before is not None and table.index_of(before) is None:
                table.move_cursor(row=0)

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

    def on_table_row_highlighted(self, event: Table.RowHighlighted) -> None:
        # Back at the newest run (Home, Up, a click): show what arrived meanwhile.
        if event.table is self.runs_table and event.cursor_row == 0:
            self.action_follow()  # the title too, when the table caught up on its own

    def action_follow(self) -> None:
        self.runs_table.catch_up()
        self.show_runs_title()

    def action_export(self) -> None:
        self.export_runs()

    @work(group="actions", exit_on_error=False)
    async def export_runs(self) -> None:
        """The runs the stream's filter shows (status, job), newest first, up to
        EXPORT_MAX, to a CSV or JSON file the operator names; messages masked."""
        operator = self.operator
        table = self.runs_table
        facts = operator.facts
        where = safe_filename(operator.profile or (facts.database if facts else None), "runs")
        stamp = (facts.now if facts else datetime.now()).strftime("%Y%m%d-%H%M%S")
        answer = await self.app.push_screen_wait(ExportScreen(f"runs-{where}-{stamp}.csv"))
        if not answer:
            return
        path = Path(answer).expanduser()
        runs = await recent_runs(operator.db, jobid=table.job_filter,
                                 status=table.status_filter)
        try:
            fmt = write_runs_file(path, runs)
        except OSError as exc:
            self.notify(f"Not exported: {exc}", severity="error")
            return
        # The whole path: a relative one is relative to a folder the operator may not know.
        self.notify(f"Exported {min(len(runs), EXPORT_MAX)} run(s) to {path.resolve()} ({fmt})")

    # -- what comes down: a view per refresh, an action's outcome -----------------------
    def show_view(self, view: View) -> None:
        """Everything of one refresh (or of a once-a-minute read), drawn in one go."""
        before, self.view = self.view, view
        runs, table = self.runs_table, self.jobs_table
        if view.runs is not None and view.runs.replace is not None:
            runs.replace(view.runs.replace)
        elif view.runs is not None:
            runs.add(view.runs.new, view.runs.changed)
        if view.usual is not None and view.usual is not before.usual:
            runs.set_usual(view.usual)
        if view.http_outcomes is not None and view.http_outcomes is not before.http_outcomes:
            runs.set_http(view.http_outcomes)
        if view.http_errors is not None:
            table.set_http_errors(view.http_errors)
        table.set_marks(view.marks)
        table.set_outliers(view.outliers)
        table.set_strips(view.strips)
        # What the app cannot currently know reads as old, with its age.
        table.set_class(not view.connected and view.facts is not None, "stale")
        if view.notice:
            self.notify(view.notice, title="Jobs file", severity="error", timeout=10)
        self.banner(view.error)
        accuracy = self.operator.server_accuracy
        self.query_one(ServerHeader).show(view.facts, state=view.state,
                                          read_only=view.read_only, accuracy=accuracy.text)
        if view.connected and accuracy.due(time.monotonic()):
            self.run_worker(accuracy.refresh(self.operator, time.monotonic()), group="accuracy",
                            exit_on_error=False)
        self.show_jobs()
        self.show_runs_title()
        if view.connected:
            self.warm_up()

    def apply(self, outcome: Outcome) -> None:
        if outcome.created is not None:
            self.jobs_table.wanted = outcome.created  # the cursor goes to it
        if outcome.unrecorded is not None:
            self.runs_table.add_manual(outcome.unrecorded)

    def warm_up(self) -> None:
        """What the first keystroke in the filter (each job's searched text) and the first
        sort by next run (each job's next run) would compute for all ten thousand jobs, made
        after the screen is drawn (half a second later: not while the first screen is being
        drawn), a slice of about 10 ms at a time: a key pressed meanwhile waits for one slice
        at most."""
        if not self._warming:
            self._warming = True
            self.set_timer(0.5, self._warm_slice)

    def _warm_slice(self) -> None:
        more = self.jobs_table.warm(500) or self.operator.next_runs.fill(500)
        self._warming = more
        if more:
            self.set_timer(0.02, self._warm_slice)

    def on_jobs_columns_changed(self, event: JobsColumnsChanged) -> None:
        self.show_jobs()

    # -- drawing: the titles ------------------------------------------------------------
    def show_jobs(self) -> None:
        operator, view = self.operator, self.view
        facts, jobs = view.facts, view.jobs
        if facts is None:
            return
        operator.next_runs.update(jobs, facts)
        table = self.jobs_table
        # Each job's usual, for "stuck" (tui/rules.py): the app reads it once a minute.
        table.show(jobs, operator.next_runs, facts,
                   operator.usual.by_job if operator.usual is not None else None)
        tz = zone_note(facts)
        title = (f"Jobs ({len(table.rows)}/{len(jobs)}: "
                 f"{self.problems.summary(jobs, facts.now, table.usuals)})  next runs in {tz}  "
                 f"sort: {SORT_NAMES[table.sort].split(' (')[0]}")
        if table.filter_text:
            title += f"  filter: {one_line(table.filter_text, 30)}"
            if not table.row_count and jobs:
                title += "  (no job matches: Esc clears the filter)"
        if not facts.has_run_index:
            title += self._lookback_hint(jobs)
        if not view.connected:
            age = facts.now + timedelta(seconds=view.stale_s or 0)
            title = f"STALE, as of {compact_ago(facts.now, age)} ago: {title}"
        self.query_one("#jobs-title", Line).set_text(title)

    def _lookback_hint(self, jobs: list[Job]) -> str:
        """Without the (jobid, runid) index: how many jobs' last runs are not known, and
        the fix. Counted once per jobs list (the tracker keeps the list while nothing
        changed), not at every refresh."""
        if self._lookback_counted[0] is not jobs:
            unknown = [j for j in jobs if not j.last_run_known]
            self._lookback_counted = (jobs, len(unknown),
                                      unknown[0].last_run_lookback if unknown else 0)
        _, unknown_count, lookback = self._lookback_counted
        if not unknown_count:
            return ""
        # Short: the title shares its line with the counts, the zone and the sort.
        fix = "an index would find them" if self.operator.read_only else "m → Create index"
        return f"  {unknown_count} job(s) not in newest {count(lookback or 0)} runs: {fix}"

    def show_runs_title(self) -> None:
        table = self.runs_table
        title = "Runs"
        if table.status_filter:
            title += f"  status: {table.status_filter}"
        if table.job_filter is not None:
            job = self.operator.job_by_id(table.job_filter)
            title += f"  job: {one_line(job.label, 40) if job else table.job_filter}"
        if table.pending:
            title += f"  ({len(table.pending)} new: Home to show)"
        elif not table.row_count and self.operator.stream.last_runid is not None:
            # An empty table under a filter reads as "nothing happened": say it is the filter.
            if table.status_filter or table.job_filter is not None:
                title += "  (no runs match: f and j change the filter)"
            else:
                title += "  (no runs recorded yet)"
        self.query_one("#runs-title", Line).set_text(title)


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
        yield KeyFooter()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)
