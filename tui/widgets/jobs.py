"""The jobs table: one row per job, refreshed in place."""

from __future__ import annotations

from datetime import datetime, timezone

from rich.text import Text
from textual.widgets import DataTable

from tui import format as fmt
from tui.cron import describe
from tui.models import Job, ServerFacts
from tui.secrets import mask
from tui.text import one_line

COLUMNS = [("name", "Job"), ("schedule", "Schedule"), ("describe", "Means"),
           ("next", "Next run"), ("at", "At"), ("last", "Last run"), ("took", "Took")]
#: Below this width the plain-English column and the duration make way (80x24 terminals).
WIDE = 110
NARROW_HIDDEN = {"describe", "took"}
SORTS = ["id", "name", "next", "last", "state"]
_FAR = datetime.max.replace(tzinfo=timezone.utc)
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def _sort_key(sort: str, job: Job, upcoming: datetime | None) -> tuple:
    if sort == "name":
        return (job.label.lower(),)
    if sort == "next":
        return (upcoming or _FAR, job.jobid)
    if sort == "last":
        # Failures first, then the most recent.
        return (job.last_status != "failed", -(job.last_start or _NEVER).timestamp())
    if sort == "state":
        return (job.active, job.jobid)
    return (job.jobid,)


def matches(job: Job, needle: str) -> bool:
    needle = needle.lower()
    return any(needle in (text or "").lower()
               for text in (job.label, job.schedule, mask(job.command), job.username))


class JobsTable(DataTable):
    DEFAULT_CSS = "JobsTable { height: 1fr; scrollbar-size-horizontal: 1; }"

    sort = "id"
    filter_text = ""

    def sort_by(self, column: str) -> None:
        self.sort = "id" if self.sort == column or column not in SORTS else column

    def next_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]

    wide = True

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._add_columns()

    def _add_columns(self) -> None:
        for key, label in COLUMNS:
            if self.wide or key not in NARROW_HIDDEN:
                self.add_column(label, key=key)

    def on_resize(self) -> None:
        wide = self.size.width >= WIDE
        if wide != self.wide:
            self.wide = wide
            self.clear(columns=True)
            self._add_columns()
            self.app.show_jobs()  # type: ignore[attr-defined]

    def show(self, jobs: list[Job], next_runs: dict[int, datetime | None],
             facts: ServerFacts) -> None:
        tz = facts.scheduler_timezone
        selected = self.selected_jobid
        shown = [j for j in jobs if not self.filter_text or matches(j, self.filter_text)]
        shown.sort(key=lambda j: _sort_key(self.sort, j, next_runs.get(j.jobid)))
        self.clear()
        for job in shown:
            self.add_row(*self._cells(job, next_runs.get(job.jobid), facts, tz),
                         key=str(job.jobid))
        if selected is not None and str(selected) in self.rows:
            self.move_cursor(row=self.get_row_index(str(selected)))

    @property
    def selected_jobid(self) -> int | None:
        if not self.rows or self.cursor_row < 0:
            return None
        key = self.coordinate_to_cell_key((self.cursor_row, 0)).row_key
        return int(key.value) if key.value is not None else None

    def _cells(self, job: Job, upcoming: datetime | None, facts: ServerFacts,
               tz: str | None) -> list[Text]:
        name = Text(one_line(job.label, 24 if self.wide else 18))
        extra = []
        if job.database != facts.database:
            extra.append(f"db {job.database}")
        if job.username != facts.current_user:
            extra.append(f"as {job.username}")
        if extra:
            name.append(f" ({', '.join(extra)})", style="dim")
        if not job.active:
            when, at = Text("paused", style="bold yellow"), Text("")
        elif upcoming is None:
            when = Text("at server start" if job.schedule.startswith("@re") else "unknown",
                        style="dim")
            at = Text("")
        else:
            when = Text(fmt.relative(upcoming, facts.now))
            at = Text(fmt.short_absolute(upcoming, tz, facts.now), style="dim")
        last = Text()
        took = Text("")
        if job.last_status:
            last.append(job.last_status, style=fmt.STATUS_STYLE.get(job.last_status, ""))
            ago = fmt.compact_ago(job.last_start, facts.now)
            last.append(f" {ago} ago" if self.wide else f" {ago}", style="dim")
            if job.last_start and job.last_end:
                took = Text(fmt.duration((job.last_end - job.last_start).total_seconds()))
        else:
            last.append("never", style="dim")
        schedule = Text(one_line(job.schedule, 24), style="bold", justify="left")
        cells = {"name": name, "schedule": schedule,
                 "describe": Text(one_line(describe(job.schedule), 20), style="dim"),
                 "next": when, "at": at, "last": last, "took": took}
        return [cells[key] for key, _ in COLUMNS if self.wide or key not in NARROW_HIDDEN]
