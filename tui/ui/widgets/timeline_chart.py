"""The timeline chart on screen: tui/insight/timeline_chart's cells as styled text.

Colour only repeats what the glyphs say (NO_COLOR loses nothing); `JobTimeline` is the one
job's next 24 hours for the detail view.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from rich.text import Text
from textual.widgets import Static

from tui.cron import zone_problem
from tui.insight import timeline_chart as chart
from tui.models import Job, ServerFacts

STYLES = {chart.BAR: "cyan", chart.OVER: "bold red", chart.LIMIT: "yellow",
          chart.DST: "bold magenta", chart.AXIS: "dim"}
HOURS = 24


def as_text(lines: Sequence[chart.Line]) -> Text:
    text = Text(no_wrap=True, overflow="crop")
    for n, line in enumerate(lines):
        if n:
            text.append("\n")
        for cell, style in line:
            text.append(cell, style=STYLES.get(style or "", ""))
    return text


class JobTimeline(Static):
    """One job's starts over the next 24 hours: a strip ('█' more than once in a column, '▄'
    once) over its time axis, in the scheduler's zone."""

    DEFAULT_CSS = "JobTimeline { height: auto; padding: 0 1; }"

    def show(self, job: Job, facts: ServerFacts | None, width: int) -> None:
        from tui.insight.explain import scheduled_times

        tz = facts.scheduler_timezone if facts else None
        if facts is None or tz is None or zone_problem(tz) is not None or not job.active:
            self.display = False
            return
        version = facts.pg_cron_grammar or "1.6"
        times = scheduled_times(job.schedule, facts.now, facts.now + timedelta(hours=HOURS),
                                tz, version)
        self.display = bool(times)
        if times:
            self.update(as_text(chart.job_strip(times, facts.now, HOURS, tz, max(width - 2, 40))))
