"""The Textual application: wiring, bindings and the refresh loop.

Every database call is an await on psycopg's async connection inside a worker, each
with a deadline, so the keyboard answers while a query runs. The next refresh is armed
only when the previous one has finished, and backs off while the server is away.
"""

from __future__ import annotations

from datetime import datetime

from textual import work
from textual.app import App
from textual.binding import Binding

from tui.cron import NextRunCache
from tui.db import ConnectOptions, Database, DatabaseError, RunStream
from tui.db.client import require_pg_cron
from tui.models import Job, ServerFacts
from tui.schedules import next_run
from tui.screens.main import MainScreen
from tui.widgets.header import ServerHeader
from tui.widgets.jobs import JobsTable
from tui.widgets.runs import RunsTable

REFRESH_S = 2.0
MAX_BACKOFF_S = 30.0


class CronJobsApp(App):
    TITLE = "cronjobs-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("r", "refresh", "Refresh", id="refresh"),
        Binding("home", "follow", "Newest runs", id="follow", show=False),
    ]

    def __init__(self, opts: ConnectOptions, *, refresh_s: float = REFRESH_S):
        super().__init__()
        self.opts = opts
        self.db = Database(opts)
        self.stream = RunStream(self.db)
        self.cache = NextRunCache()
        self.refresh_s = refresh_s
        self.failures = 0
        self.facts: ServerFacts | None = None
        self.jobs: list[Job] = []
        self._timer = None

    def on_mount(self) -> None:
        self.push_screen(MainScreen())
        self.show_header("connecting…")
        self.refresh_data()

    async def on_unmount(self) -> None:
        await self.db.close()

    # -- refresh loop ---------------------------------------------------------
    def action_refresh(self) -> None:
        self.refresh_data()

    @work(exclusive=True, group="refresh")
    async def refresh_data(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        try:
            facts = await self.db.facts()
            require_pg_cron(facts)
            jobs = await self.db.jobs(indexed=facts.has_run_index)
            if self.stream.last_runid is None:
                self.runs_table.replace(await self.stream.start())
            else:
                new, changed = await self.stream.poll()
                self.runs_table.add(new, changed)
        except DatabaseError as exc:
            self.failures += 1
            self.show_header("reconnecting…" if exc.lost else "error")
            self.main.banner(f"{exc}  (retrying in {self.next_delay():.0f} s)")
        else:
            self.failures = 0
            self.facts, self.jobs = facts, jobs
            self.main.banner(None)
            self.show_header("connected")
            self.show_jobs()
            self.show_runs_title()
        finally:
            self._timer = self.set_timer(self.next_delay(), self.refresh_data)

    def next_delay(self) -> float:
        if not self.failures:
            return self.refresh_s
        return min(self.refresh_s * 2 ** self.failures, MAX_BACKOFF_S)

    # -- drawing --------------------------------------------------------------
    @property
    def main(self) -> MainScreen:
        return self.get_screen_of(MainScreen)

    def get_screen_of(self, kind: type) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, kind):
                return screen
        raise LookupError(kind)

    @property
    def runs_table(self) -> RunsTable:
        return self.main.query_one(RunsTable)

    def show_header(self, state: str) -> None:
        self.main.query_one(ServerHeader).show(self.facts, state=state,
                                               read_only=self.opts.read_only)

    def show_jobs(self) -> None:
        assert self.facts is not None
        upcoming: dict[int, datetime | None] = {
            job.jobid: next_run(job, self.facts, self.cache) for job in self.jobs}
        self.main.query_one(JobsTable).show(self.jobs, upcoming, self.facts)
        tz = self.facts.scheduler_timezone or "zone unknown"
        self.main.query_one("#jobs-title").update(f"Jobs ({len(self.jobs)})   next runs in {tz}")

    def show_runs_title(self) -> None:
        table = self.runs_table
        title = "Runs"
        if table.pending:
            title += f"   {len(table.pending)} new: press Home to show"
        self.main.query_one("#runs-title").update(title)

    def action_follow(self) -> None:
        table = self.runs_table
        table.catch_up()
        self.show_runs_title()
