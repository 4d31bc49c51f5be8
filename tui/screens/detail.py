"""Enter on a job: its whole command, history paged by runid, health, next five runs."""

from __future__ import annotations

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import DataTable, Footer, Sparkline, Static

from tui import format as fmt
from tui.cron import describe, next_runs
from tui.db import DatabaseError
from tui.models import Job, Run
from tui.screens.operator import OperatorScreen
from tui.secrets import mask
from tui.text import inert, one_line

PAGE = 50
#: How many recent runs the success rate and the sparkline look at.
RECENT = 100


class JobDetailScreen(OperatorScreen):
    DEFAULT_CSS = """
    JobDetailScreen #title { height: auto; padding: 0 1; background: $boost; }
    JobDetailScreen #top { height: 14; }
    JobDetailScreen #command { width: 2fr; border: round $primary; padding: 0 1; }
    JobDetailScreen #side { width: 1fr; min-width: 30; border: round $primary; padding: 0 1; }
    JobDetailScreen Sparkline { height: 1; margin-bottom: 1; }
    JobDetailScreen #history-title { height: 1; padding: 0 1; background: $boost; }
    JobDetailScreen DataTable { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("greater_than_sign,pagedown", "older", "Older runs", id="older",
                key_display=">", show=False),
        Binding("less_than_sign,pageup", "newer", "Newer runs", id="newer",
                key_display="<", show=False),
    ]

    def __init__(self, job: Job):
        super().__init__()
        self.job = job
        self.pages: list[int | None] = [None]  # the `before` runid of each page seen

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        with Horizontal(id="top"):
            with VerticalScroll(id="command"):
                yield Static(id="command-text", markup=False)
            with Vertical(id="side"):
                yield Static(id="stats", markup=False)
                yield Sparkline([], id="durations")
                yield Static(id="upcoming", markup=False)
        yield Static("History", id="history-title", markup=False)
        yield DataTable(id="history", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one("#history", DataTable)
        for key, label in [("runid", "Run"), ("start", "Started"), ("status", "Status"),
                           ("took", "Took"), ("message", "Message")]:
            table.add_column(label, key=key)
        table.focus()
        self.show_job(self.job)
        self.load_page()
        self.load_stats()

    def selected_job(self) -> Job | None:
        return self.job

    def action_back(self) -> None:
        self.dismiss()

    def on_data_refreshed(self) -> None:
        """Called by the app after each refresh: the job's state may have changed."""
        fresh = self.operator.job_by_id(self.job.jobid)
        if fresh is None:
            self.query_one("#title", Static).update(
                Text(f"{self.job.label}: this job no longer exists", style="bold red"))
            return
        if fresh != self.job:
            self.show_job(fresh)
            if fresh.last_runid != self.job.last_runid and self.pages == [None]:
                self.load_page()
                self.load_stats()
        self.job = fresh

    # -- drawing --------------------------------------------------------------
    def show_job(self, job: Job) -> None:
        facts = self.operator.facts
        title = Text(one_line(job.label, 60), style="bold")
        title.append(f"   {'active' if job.active else 'PAUSED'}",
                     style="green" if job.active else "bold yellow")
        title.append(f"   {one_line(job.schedule, 40)}", style="bold")
        title.append(f"  {describe(job.schedule)}", style="dim")
        title.append(f"\n database {job.database}  as {job.username}  job #{job.jobid}",
                     style="dim")
        self.query_one("#title", Static).update(title)
        code = Syntax(inert(mask(job.command)), "sql", word_wrap=True, theme="ansi_dark",
                      background_color="default")
        from tui.screens.http import command_panel  # HTTP jobs: the request laid out

        self.query_one("#command-text", Static).update(command_panel(self, job, code))
        heading = Text("Next runs", style="bold")
        lines = [heading]
        tz = facts.scheduler_timezone if facts else None
        if not job.active:
            heading.append("\n paused: none")
        elif facts is None or tz is None:
            heading.append("\n unknown: the scheduler's time zone is unreadable")
        else:
            runs = next_runs(job.schedule, facts.now, tz, 5,
                             version=facts.pg_cron_minor or "1.6", last_start=job.last_start)
            if not runs:
                heading.append("\n at server start only" if job.schedule.startswith("@re")
                               else "\n never (this schedule cannot fire)")
            else:  # the zone once, in the heading: each line then fits a 120-column screen
                heading.append(f" ({tz})", style="bold")
            for when in runs:  # cut rather than wrapped where the panel is narrow (80x24)
                line = Text(f" {fmt.absolute(when, tz)}  ", no_wrap=True, overflow="ellipsis")
                line.append(fmt.relative(when, facts.now), style="dim")
                lines.append(line)
        self.query_one("#upcoming", Static).update(Group(*lines))

    def _show_stats(self, runs: list[Run]) -> None:
        finished = [r for r in runs if r.finished]
        stats = Text("Recent runs", style="bold")
        if not finished:
            stats.append("\n none finished yet", style="dim")
        else:
            ok = sum(r.status == "succeeded" for r in finished)
            rate = 100 * ok / len(finished)
            stats.append(f"\n {rate:.0f}% succeeded", style="green" if rate == 100 else "yellow")
            stats.append(f" ({ok}/{len(finished)})", style="dim")
            durations = [r.duration for r in finished if r.duration is not None]
            if durations:
                stats.append(f"\n took {fmt.duration(min(durations))} to "
                             f"{fmt.duration(max(durations))}", style="dim")
        self.query_one("#stats", Static).update(stats)
        series = [r.duration or 0.0 for r in reversed(finished)]
        sparkline = self.query_one("#durations", Sparkline)
        sparkline.data = series
        sparkline.display = len(series) > 1  # one bar says nothing about a trend

    def _show_page(self, runs: list[Run]) -> None:
        table = self.query_one("#history", DataTable)
        table.clear()
        for run in runs:
            status = run.status or "?"
            table.add_row(
                Text(str(run.runid), style="dim"),
                Text(run.start_time.strftime("%Y-%m-%d %H:%M:%S") if run.start_time
                     else "queued"),
                Text(status, style=fmt.STATUS_STYLE.get(status, "")),
                Text(fmt.duration(run.duration)),
                Text(one_line(mask(run.return_message), 300)),
                key=str(run.runid))
        page = len(self.pages)
        more = "  > older" if len(runs) == PAGE else ""
        newer = "  < newer" if page > 1 else ""
        count = f"{len(runs)} run" + ("" if len(runs) == 1 else "s")
        self.query_one("#history-title", Static).update(
            f"History, page {page} ({count}, newest first){newer}{more}")
        self.last_page = runs

    # -- loading --------------------------------------------------------------
    @work(exclusive=True, group="detail-page")
    async def load_page(self) -> None:
        try:
            runs = await self.operator.db.runs_recent(limit=PAGE, jobid=self.job.jobid,
                                                      before=self.pages[-1])
        except DatabaseError as exc:
            self.notify(f"history: {exc}", severity="error")
            return
        self._show_page(runs)

    @work(exclusive=True, group="detail-stats")
    async def load_stats(self) -> None:
        try:
            runs = await self.operator.db.runs_recent(limit=RECENT, jobid=self.job.jobid)
        except DatabaseError as exc:
            self.notify(f"statistics: {exc}", severity="error")
            return
        self._show_stats(runs)

    def action_older(self) -> None:
        runs = getattr(self, "last_page", [])
        if len(runs) == PAGE:
            self.pages.append(runs[-1].runid)
            self.load_page()

    def action_newer(self) -> None:
        if len(self.pages) > 1:
            self.pages.pop()
            self.load_page()
