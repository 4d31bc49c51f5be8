"""The app's own accuracy on screen: one job's figure (the detail view) and the server's (the
header). Both judge the last day (the doctor's schedule.accuracy a week): a worker reads it,
the screen never waits."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from tui.db import DatabaseError
from tui.insight.accuracy import Accuracy, Tally
from tui.models import Job

#: The app as tui/ui/services.py's Operator (not imported: services names this module's
#: ServerAccuracy, and imports do not go round in circles).
Operator = Any

DAYS = 1.0
#: The header judges at most this many jobs (each against every run of the day); past that
#: it shows no figure: the doctor's schedule.accuracy has it.
MAX_JOBS = 200
#: Runs read at most for the figure (a day of some 35 every-minute jobs).
MAX_RUNS = 50_000


def figure(t: Tally) -> Text:
    """'100%' in green when nothing is unexplained, else the count in red: the header's word."""
    if t.unexplained:
        return Text(f"{t.percent:.1f}% ({t.unexplained} unexplained)", style="bold red")
    return Text(f"{t.percent:.0f}%", style="green")


def job_line(result: Accuracy, jobid: int) -> Text:
    """One line (the side panel is short): the figure, how many times, the unexplained."""
    tally = result.per_job.get(jobid, Tally())
    line = Text("Accuracy ", style="bold", no_wrap=True, overflow="ellipsis")
    line.append_text(figure(tally))
    days = (result.until - result.since).total_seconds() / 86400
    line.append(f" {tally.fire_times:,} times in {days:.0f} d", style="dim")
    if tally.unexplained:
        # A bug, ours or the server's: the doctor lists the times, to report.
        line.append(" a bug: see doctor", style="red")
    return line


async def judge(operator: Operator, jobs: list[Job]) -> Accuracy | None:
    """The last day's accuracy of `jobs`, or None when it cannot be known here (no zone, no
    history readable): said elsewhere, not guessed."""
    from tui.insight.accuracy_gather import accuracy

    facts = operator.facts
    if facts is None:
        return None
    audit = operator.audit.tail(20_000) if operator.audit else []
    try:
        return await accuracy(operator.db, facts, jobs, audit, days=DAYS, max_runs=MAX_RUNS,
                              now=facts.now)
    except DatabaseError:
        return None


class AccuracyLine(Static):
    """The detail view's line: this job's fire times of the last day, matched to its runs."""

    DEFAULT_CSS = "AccuracyLine { height: auto; }"

    def load(self, operator: Operator, job: Job) -> None:
        self.display = False
        self.run_worker(self._load(operator, job), exclusive=True, group="accuracy")

    async def _load(self, operator: Operator, job: Job) -> None:
        result = await judge(operator, [job])
        if result is None or job.jobid not in result.per_job:
            return
        self.update(job_line(result, job.jobid))
        self.display = True


class ServerAccuracy:
    """The server's figure for the header: worked out off the event loop a while after the
    first screen, then every REFRESH_S; the header shows the latest (nothing until then)."""

    REFRESH_S = 600.0
    FIRST_AFTER_S = 20.0

    def __init__(self) -> None:
        self.text: Text | None = None
        self._at: float | None = None  # when it was last asked for (monotonic)
        self._busy = False

    def due(self, now: float) -> bool:
        if self._busy:
            return False
        if self._at is None:
            self._at = now - self.REFRESH_S + self.FIRST_AFTER_S
        return now - self._at >= self.REFRESH_S

    async def refresh(self, operator: Operator, now: float) -> None:
        self._at, self._busy = now, True
        try:
            jobs = list(operator.jobs)
            result = await judge(operator, jobs) if len(jobs) <= MAX_JOBS else None
        finally:
            self._busy = False
        if result is not None:
            label = Text("accuracy ")
            label.append_text(figure(result.total))
            self.text = label
