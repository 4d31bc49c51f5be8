"""The jobs table: one row per job, refreshed in place.

Ten thousand jobs refresh every two seconds, so a refresh touches only what changed: rows
are added, removed and updated cell by cell, reordered without being rebuilt, and the cells
that age with the clock ("in 3 min", "5m ago") are recomputed for the rows on screen only (the
others when they scroll into view). Column widths are measured by us, once per new text.

Those cells read to the minute, not the second. Any changed cell makes DataTable draw every
visible row again, and a seconds countdown changed some row at every refresh; cron runs start
on the minute, so minute texts all turn over together, about once a minute.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import lru_cache

from rich.text import Text
from textual.widgets._data_table import Row, RowKey
from textual.widgets.data_table import ColumnKey

from tui import format as fmt
from tui.cron import describe as _describe
from tui.http import is_http_job
from tui.models import Job, ServerFacts
from tui.schedules import NextRuns, no_next_run
from tui.secrets import mask
from tui.text import one_line
from tui.widgets.table import Table

COLUMNS = [("name", "Job"), ("schedule", "Schedule"), ("describe", "Means"),
           ("next", "Next run"), ("at", "At"), ("last", "Last run"), ("took", "Took")]
#: Below this width the plain-English column, the next run's date and the duration make way
#: (80x24 terminals), so that the last run fits whole: "in 5 h" says when, the detail the date.
WIDE = 110
NARROW_HIDDEN = {"describe", "at", "took"}
SORTS = ["id", "problems", "name", "next", "last", "state"]
#: What each order is called where it is shown (`o` names it, the title keeps it).
SORT_NAMES = {"id": "by id", "problems": "problems first (failing, stuck, paused)",
              "name": "by name", "next": "next run first", "last": "last run, failures first",
              "state": "paused first"}
#: A latest run unfinished for this long counts as stuck at a glance (the doctor's floor;
#: the doctor also weighs the job's usual duration).
STUCK_AFTER_S = 600
_UNFINISHED = ("starting", "connecting", "sending", "running")
_FAR = datetime.max.replace(tzinfo=timezone.utc)
_NEVER = datetime.min.replace(tzinfo=timezone.utc)


def is_stuck(job: Job, now: datetime) -> bool:
    return (job.last_status in _UNFINISHED and job.last_start is not None
            and (now - job.last_start).total_seconds() > STUCK_AFTER_S)


def problem_rank(job: Job, now: datetime) -> int:
    """0 failing, 1 stuck, 2 paused, 3 nothing to look at."""
    if job.last_status == "failed":
        return 0
    if is_stuck(job, now):
        return 1
    return 2 if not job.active else 3


def problems_summary(jobs: list[Job], now: datetime) -> str:
    """How many jobs need a look, for the title: "2 failing, 1 stuck, 1 paused"."""
    failing = sum(j.last_status == "failed" for j in jobs)
    stuck = sum(is_stuck(j, now) for j in jobs)
    paused = sum(not j.active for j in jobs)
    if not (failing or stuck or paused):
        return "none failing"
    return ", ".join(f"{n} {what}" for n, what in ((failing, "failing"), (stuck, "stuck"),
                                                   (paused, "paused")) if n)


def _sort_key(sort: str, job: Job, upcoming: datetime | None,
              now: datetime = _NEVER) -> tuple:
    if sort == "problems":
        return (problem_rank(job, now), -(job.last_start or _NEVER).timestamp(), job.jobid)
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


#: The columns whose text changes with the clock alone.
CLOCKED = ("next", "at", "last")


@lru_cache(maxsize=4096)
def describe(schedule: str, version: str = "1.6") -> str:
    """The plain-English column, computed once per distinct schedule (it is slow)."""
    return one_line(_describe(schedule, version), 20)


def matches(job: Job, needle: str) -> bool:
    needle = needle.lower()
    return any(needle in (text or "").lower()
               for text in (job.label, job.schedule, mask(job.command), job.username))


class JobsTable(Table):
    DEFAULT_CSS = "JobsTable { height: 1fr; scrollbar-size-horizontal: 1; }"

    sort = "id"
    filter_text = ""
    wide = True
    #: A job the cursor goes to as soon as it is shown (set when one is created here).
    wanted: int | None = None

    def sort_by(self, column: str) -> None:
        self.sort = "id" if self.sort == column or column not in SORTS else column

    def next_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]

    def toggle_problems(self) -> None:
        """Problems first, or back to the plain order."""
        self.sort = "id" if self.sort == "problems" else "problems"

    def on_mount(self) -> None:
        self.cursor_type = "row"
        self.zebra_stripes = True
        self._order: list[int] = []  # jobids as shown, top to bottom
        self._shown: dict[int, tuple[Job, datetime | None]] = {}  # what each row was built from
        self._clock: dict[int, datetime] = {}  # the `now` each row's clocked cells were made for
        self._facts: ServerFacts | None = None
        self._order_inputs: tuple = ()
        self._inputs: tuple = ()
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
            self._forget()
            self._add_columns()
            self.app.show_jobs()  # type: ignore[attr-defined]
        else:
            self._refresh_visible()

    marks: dict[int, str] = {}

    def set_marks(self, marks: dict[int, str]) -> None:
        """Notes shown after a job's name (drift from the jobs file); redraws what changed."""
        if marks is self.marks:
            return
        changed = {jobid for jobid, _ in set(marks.items()) ^ set(self.marks.items())}
        self.marks = marks
        for jobid in changed & set(self._shown):
            self._shown[jobid] = (None, None)  # type: ignore[assignment]  # forces an update
        self._inputs = ()  # ...which only _patch makes: show() skips it when nothing else changed

    #: Jobs whose last run was far outside their usual lag or duration (tui/insight/lag).
    outliers: dict[int, str] = {}

    def set_outliers(self, outliers: dict[int, str]) -> None:
        if outliers == self.outliers:
            return
        changed = {jobid for jobid, _ in set(outliers.items()) ^ set(self.outliers.items())}
        self.outliers = outliers
        facts = self._facts
        for jobid in changed & set(self._shown):
            job, upcoming = self._shown[jobid]
            if job is not None and facts is not None:  # only its Took cell changes
                cells = self._cells(job, upcoming, facts, facts.scheduler_timezone)
                if "took" in cells:
                    self._update(jobid, {"took": cells["took"]})

    #: HTTP jobs whose last run succeeded but whose endpoint answered an error (tui/outcome).
    http_errors: dict[int, str] = {}

    def set_http_errors(self, errors: dict[int, str]) -> None:
        if errors == self.http_errors:
            return
        changed = {jobid for jobid, _ in set(errors.items()) ^ set(self.http_errors.items())}
        self.http_errors = errors
        for jobid in changed & set(self._shown):
            self._shown[jobid] = (None, None)  # type: ignore[assignment]  # forces an update
        # ...which only _patch makes: show() would skip it when nothing else changed.
        self._inputs = ()

    def _forget(self) -> None:
        self._order, self._shown, self._clock, self._order_inputs = [], {}, {}, ()
        self._inputs = ()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._refresh_visible()

    # -- filling ------------------------------------------------------------------------
    def show(self, jobs: list[Job], upcoming: NextRuns, facts: ServerFacts) -> None:
        if self._facts is not None and (facts.database, facts.current_user,
                                        facts.scheduler_timezone) != (
                self._facts.database, self._facts.current_user,
                self._facts.scheduler_timezone):
            self.clear()
            self._forget()
        self._facts = facts
        selected = self.selected_jobid
        next_runs = upcoming.at
        order = self._ordered(jobs, upcoming)
        inputs = (id(jobs), len(jobs), upcoming.version)
        if order is self._order and inputs == self._inputs:
            pass  # nothing changed but the clock
        elif not self._order or len(set(self._order) - set(order)) > 100:
            self._fill(order, {j.jobid: j for j in jobs}, next_runs, facts)
        else:
            self._patch(order, {j.jobid: j for j in jobs}, next_runs, facts)
        self._inputs = inputs
        self._refresh_visible()
        if self.wanted is not None and self.wanted in self._shown:
            selected, self.wanted = self.wanted, None  # a job just created: the cursor to it
        if selected is not None and selected in self._shown:
            row = self._order.index(selected)
            if row != self.cursor_row:
                self.move_cursor(row=row)

    def _ordered(self, jobs: list[Job], upcoming: NextRuns) -> list[int]:
        now = self._facts.now if self._facts is not None else _NEVER
        inputs = (id(jobs), len(jobs), self.sort, self.filter_text,
                  upcoming.version if self.sort == "next" else None,
                  # stuck is a matter of time: reorder at most once a minute for it
                  now.replace(second=0, microsecond=0) if self.sort == "problems" else None)
        if inputs == self._order_inputs:
            return self._order
        self._order_inputs = inputs
        shown = [j for j in jobs if not self.filter_text or matches(j, self.filter_text)]
        if self.sort != "id":
            shown.sort(key=lambda j: _sort_key(self.sort, j, upcoming.at.get(j.jobid), now))
        return [j.jobid for j in shown]

    def _fill(self, order: list[int], by_id: dict[int, Job],
              next_runs: dict[int, datetime | None], facts: ServerFacts) -> None:
        """Every row anew (the first time, or after most rows went away)."""
        self.clear()
        self._forget()
        widths = {key: 0 for key in self.columns}
        # What add_row does for each row, done once for them all (add_row re-validates the
        # cursor and walks the columns per row: seconds for ten thousand rows).
        columns = [c.key for c in self.ordered_columns]
        tz = facts.scheduler_timezone
        for index, jobid in enumerate(order):
            job, upcoming = by_id[jobid], next_runs.get(jobid)
            cells = self._cells(job, upcoming, facts, tz)
            row_key = RowKey(str(jobid))
            self._row_locations[row_key] = index
            self._data[row_key] = dict(zip(columns, cells.values()))
            self.rows[row_key] = Row(row_key, 1, None, False)
            for key, cell in cells.items():
                if cell.cell_len > widths[key]:
                    widths[key] = cell.cell_len
            self._shown[jobid] = (job, upcoming)
            self._clock[jobid] = facts.now
        self._order = order
        self._update_count += 1
        self.cursor_coordinate = self.cursor_coordinate
        if order and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self.check_idle()
        # Our texts are single lines: their width is their cell length. Measured here, the
        # table need not measure ten thousand rows again on its next idle.
        for key, width in widths.items():
            column = self.columns[ColumnKey(key)]
            column.content_width = max(column.content_width, width)
        self._new_rows.clear()
        self._require_update_dimensions = True

    def _patch(self, order: list[int], by_id: dict[int, Job],
               next_runs: dict[int, datetime | None], facts: ServerFacts) -> None:
        """Only what changed: rows gone, rows new, rows whose job or next run changed."""
        wanted = set(order)
        for jobid in [j for j in self._order if j not in wanted]:
            self.remove_row(str(jobid))
            self._shown.pop(jobid, None)
            self._clock.pop(jobid, None)
        tz = facts.scheduler_timezone
        added = False
        for jobid in order:
            job, upcoming = by_id[jobid], next_runs.get(jobid)
            before = self._shown.get(jobid)
            if before is None:
                cells = self._cells(job, upcoming, facts, tz)
                self.add_row(*cells.values(), key=str(jobid))
                self._grow(cells)
                added = True
            elif before[0] is not job and before[0] != job or before[1] != upcoming:
                self._update(jobid, self._cells(job, upcoming, facts, tz))
            else:
                continue
            self._shown[jobid] = (job, upcoming)
            self._clock[jobid] = facts.now
        if added or order != [j for j in self._order if j in wanted]:
            self._reorder(order)  # new rows were appended, or the order changed
        self._order = order

    def _reorder(self, order: list[int]) -> None:
        """Rows moved, not rebuilt (what DataTable.sort does, with our order)."""
        self._row_locations = type(self._row_locations)(
            {RowKey(str(jobid)): index for index, jobid in enumerate(order)})
        self._update_count += 1
        self.refresh()

    def _update(self, jobid: int, cells: dict[str, Text]) -> None:
        key = str(jobid)
        row = self._data[RowKey(key)]
        for column, cell in cells.items():
            old = row.get(ColumnKey(column))
            if not isinstance(old, Text) or old.plain != cell.plain or old.spans != cell.spans:
                self.update_cell(key, column, cell)
        self._grow(cells)

    def _grow(self, cells: dict[str, Text]) -> None:
        """Widen a column when a new text needs it (never narrowed while showing)."""
        for key, cell in cells.items():
            column = self.columns[ColumnKey(key)]
            if cell.cell_len > column.content_width:
                column.content_width = cell.cell_len
                self._require_update_dimensions = True
                self.refresh()

    def _refresh_visible(self) -> None:
        """The clocked cells of the rows on screen, for the latest `now`."""
        facts = self._facts
        if facts is None or not self._order:
            return
        first = max(int(self.scroll_y), 0)
        # row_count: while clear() empties the table (scroll_y reset) _order still holds rows
        last = min(first + max(self.size.height, 1) + 1, len(self._order), self.row_count)
        tz = facts.scheduler_timezone
        for index in range(first, last):
            jobid = int(self._row_locations.get_key(index).value)  # type: ignore[union-attr]
            if self._clock.get(jobid) == facts.now or jobid not in self._shown:
                continue
            job, upcoming = self._shown[jobid]
            if job is None:  # marked for a full update by the next show()
                continue
            cells = self._cells(job, upcoming, facts, tz)
            self._update(jobid, {k: cells[k] for k in CLOCKED if k in cells})
            self._clock[jobid] = facts.now

    @property
    def selected_jobid(self) -> int | None:
        if not self.rows or self.cursor_row < 0:
            return None
        key = self.coordinate_to_cell_key((self.cursor_row, 0)).row_key
        return int(key.value) if key.value is not None else None

    def _cells(self, job: Job, upcoming: datetime | None, facts: ServerFacts,
               tz: str | None) -> dict[str, Text]:
        name = Text(one_line(job.label, 24 if self.wide else 18))
        extra = []
        if job.database != facts.database:
            extra.append(f"db {one_line(job.database, 20)}")
        if job.username != facts.current_user:
            extra.append(f"as {one_line(job.username, 20)}")
        if extra:
            name.append(f" ({', '.join(extra)})", style="dim")
        if is_http_job(job.command):
            name.append(" http", style="cyan")
        if job.jobid in self.marks:
            name.append(f" {one_line(self.marks[job.jobid], 40)}", style="bold magenta")
        if not job.active:
            when, at = Text("paused", style="bold yellow"), Text("")
        elif upcoming is None:
            when = Text(no_next_run(job, facts), style="dim")
            at = Text("")
        else:
            when = Text(fmt.relative(upcoming, facts.now, to_the_minute=True))
            at = Text(fmt.short_absolute(upcoming, tz, facts.now), style="dim")
        last = Text()
        took = Text("")
        if job.last_status:
            last.append(one_line(job.last_status, 12),
                        style=fmt.STATUS_STYLE.get(job.last_status, ""))
            if job.jobid in self.http_errors:  # "succeeded", yet the endpoint said no
                last.append(f" → {self.http_errors[job.jobid]}", style="bold red")
            if job.last_start is not None:  # a run that never started has no "when"
                ago = fmt.compact_ago(job.last_start, facts.now)
                last.append(f" {ago} ago" if self.wide else f" {ago}", style="dim")
            if job.last_start and job.last_end:
                took = Text(fmt.duration((job.last_end - job.last_start).total_seconds()))
                if job.jobid in self.outliers:
                    took.append(f" {self.outliers[job.jobid]}", style="bold red")
        elif job.last_run_known:
            last.append("never", style="dim")
        else:  # no run among the runs searched (no index): older ones may exist
            last.append(fmt.not_in_lookback(job.last_run_lookback or 0, short=not self.wide),
                        style="italic")
        # At 80 columns a long schedule would push the last run off the right edge.
        schedule = Text(one_line(job.schedule, 24 if self.wide else 16), style="bold",
                        justify="left")
        cells = {"name": name, "schedule": schedule,
                 "describe": Text(describe(job.schedule, facts.pg_cron_minor or "1.6"),
                                  style="dim"),
                 "next": when, "at": at, "last": last, "took": took}
        return {key: cells[key] for key, _ in COLUMNS if self.wide or key not in NARROW_HIDDEN}
