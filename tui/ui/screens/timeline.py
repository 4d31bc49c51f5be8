"""`w`: what will run in the next 24 hours (the same as `cronjobs-tui timeline`): the chart,
then the crowded and busiest minutes, overlaps and DST changes in words."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding

from tui.db import DatabaseError
from tui.text import inert
from tui.ui.screens.report import ReportScreen

HOURS = 24


class TimelineScreen(ReportScreen):
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="timeline.close"),
                Binding("r", "reload", "Again", id="timeline.reload")]
    heading = f"Next {HOURS} hours (r again, Esc closes)"
    body_id = "timeline"

    @work(exclusive=True, group="timeline", exit_on_error=False)
    async def action_reload(self) -> None:
        from tui.db import insight as reads
        from tui.insight.gather import zone_of
        from tui.insight.timeline import build, render
        from tui.insight.timeline_chart import chart
        from tui.ui.widgets.timeline_chart import as_text

        widget = self.body
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
        width = max(min(self.size.width, 110) - 6, 60)  # the report's box: 110 at most
        widget.update(Text.assemble(as_text(chart(plan, width=width)), "\n\n",
                                    render(plan, width=width)))
