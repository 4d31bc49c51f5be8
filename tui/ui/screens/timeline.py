"""`w`: what will run in the next 24 hours (the same as `cronjobs-tui timeline`)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.db import Database, DatabaseError
from tui.text import inert

HOURS = 24


class TimelineScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    TimelineScreen { align: center middle; }
    TimelineScreen > VerticalScroll {
        width: 110; max-width: 100%; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="timeline.close"),
                Binding("r", "reload", "Again", id="timeline.reload")]

    def __init__(self, db: Database):
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(f"Next {HOURS} hours (r again, Esc closes)", style="bold"))
            yield Static("reading…", id="timeline", markup=False)

    def on_mount(self) -> None:
        self.action_reload()

    @work(exclusive=True, group="timeline")
    async def action_reload(self) -> None:
        from tui.db import insight as reads
        from tui.insight.gather import zone_of
        from tui.insight.timeline import build, render

        widget = self.query_one("#timeline", Static)
        try:
            facts = await self.db.facts()
            tz = zone_of(facts)
            jobs = await self.db.jobs(indexed=facts.has_run_index)
            sched = await reads.scheduler(self.db)
            usual = await reads.usual_durations(self.db)
        except DatabaseError as exc:
            widget.update(Text(f"No timeline: {inert(str(exc))}", style="bold red"))
            return
        plan = build(jobs, usual, facts.now, HOURS, tz, facts.pg_cron_grammar or "1.6",
                     sched.max_running_jobs)
        widget.update(Text(render(plan, width=max(self.size.width - 6, 60))))
