"""The jobs table: one row per job, refreshed in place.

Ten thousand jobs refresh every two seconds, so a refresh touches only what changed: a row's
cells (plain pieces of text, tui/ui/widgets/table.py) are built when the row is first drawn
and again when its job or next run changes, and kept across sorts and filters, which only
reorder keys; only the rows on screen are drawn. A row nobody has seen costs the widths of its
name and schedule only (the columns' widths grow when rows scrolled to need more). The cells
that age with the clock ("in 3 min", "5m ago") are recomputed for the rows on screen only (the
others when they scroll into view).

Those cells read to the minute, not the second: a changed row is drawn again, and a seconds
countdown changed some row at every refresh; cron runs start on the minute, so minute texts
all turn over together, about once a minute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime, timezone
from functools import lru_cache

from textual.binding import Binding

from tui import format as fmt
from tui import rules
from tui.cron import describe as _describe
from tui.http_jobs import is_http_job
from tui.insight import strips as run_strips
from tui.insight.strips import StripRun
from tui.masking import mask
from tui.models import Job, ServerFacts, changed_jobs
from tui.rules import Usual
from tui.text import one_line
from tui.ui.messages import JobsColumnsChanged
from tui.ui.widgets.table import EMPTY, Cell, Piece, Table, cell, width_of
from tui.upcoming import NextRuns, no_next_run

COLUMNS = [("name", "Job"), ("schedule", "Schedule"), ("describe", "Means"),
           ("next", "Next run"), ("at", "At"), ("last", "Last run"), ("took", "Took"),
           ("recent", "Recent")]
#: Below this width the plain-English column, the next run's date and the duration make way
#: (80x24 terminals), so that the last run fits whole: "in 5 h" says when, the detail the date.
WIDE = 110
NARROW_HIDDEN = {"describe", "at", "took", "recent"}
#: The run strip goes first, below STRIP_WIDE; up to FULL the plain English (which the
#: detail view says too) gives it its place, where all would not fit.
STRIP_WIDE, FULL = 120, 140


def hidden_columns(width: int) -> set[str]:
    if width < WIDE:
        return NARROW_HIDDEN
    if width < STRIP_WIDE:
        return {"recent"}
    return {"describe"} if width < FULL else set()
SORTS = ["id", "problems", "name", "next", "last", "state"]
#: What each order is called where it is shown (`o` names it, the title keeps it).
SORT_NAMES = {"id": "by id", "problems": "problems first (failing, stuck, orphaned, paused)",
              "name": "by name", "next": "next run first", "last": "last run, failures first",
              "state": "paused first"}
_FAR = datetime.max.replace(tzinfo=timezone.utc)
_NEVER = datetime.min.replace(tzinfo=timezone.utc)
_NO_USUAL: Mapping[int, Usual] = {}


def problem_of(job: Job, now: datetime, usuals: Mapping[int, Usual] = _NO_USUAL) -> str | None:
    """The job's problem by the one rule (tui/rules.py), with its usual where read."""
    return rules.problem(job, now, usuals.get(job.jobid))


def problem_rank(job: Job, now: datetime, usuals: Mapping[int, Usual] = _NO_USUAL) -> int:
    """0 failing, 1 stuck, 2 orphaned, 3 paused, 4 nothing to look at."""
    return rules.problem_rank(problem_of(job, now, usuals))


def problems_summary(jobs: list[Job], now: datetime,
                     usuals: Mapping[int, Usual] = _NO_USUAL) -> str:
    """How many jobs need a look, for the title: "2 failing, 1 stuck, 1 paused"."""
    found = Counter(problem_of(j, now, usuals) for j in jobs)
    if not any(found[p] for p in rules.PROBLEMS):
        return "none failing"
    return ", ".join(f"{found[p]} {p}" for p in rules.PROBLEMS if found[p])


class ProblemCounts:
    """The title's counts, kept as the jobs change: a refresh looks at the jobs that changed
    (JobsTracker replaces them in place), and counts among the few that may be a problem."""

    def __init__(self) -> None:
        self._jobs: list[Job] = []
        self._maybe: dict[int, Job] = {}  # failed, unfinished or paused: stuck is a matter of time
        self._said: tuple[list[Job], datetime | None, str] = ([], None, "")
        self._usuals: Mapping[int, Usual] = _NO_USUAL

    def summary(self, jobs: list[Job], now: datetime,
                usuals: Mapping[int, Usual] = _NO_USUAL) -> str:
        if self._said[0] is jobs and self._said[1] == now and self._usuals is usuals:
            return self._said[2]  # a keystroke in the filter changes neither
        replaced = changed_jobs(self._jobs, jobs)
        if replaced is None:
            self._maybe, replaced = {}, jobs
        for job in replaced:
            if rules.maybe_problem(job):
                self._maybe[job.jobid] = job
            else:
                self._maybe.pop(job.jobid, None)
        self._jobs = jobs
        said = problems_summary(list(self._maybe.values()), now, usuals)
        self._said, self._usuals = (jobs, now, said), usuals
        return said


def _sort_key(sort: str, job: Job, upcoming: datetime | None,
              now: datetime = _NEVER, usuals: Mapping[int, Usual] = _NO_USUAL) -> tuple:
    if sort == "problems":
        return (problem_rank(job, now, usuals), -(job.last_start or _NEVER).timestamp(), job.jobid)
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


def haystack(job: Job) -> str:
    """What the filter searches, lower-cased: name, schedule, masked command, role."""
    return "\x00".join((job.label, job.schedule, mask(job.command or ""),
                        job.username or "")).lower()


def _searched_fields(job: Job) -> tuple[str | None, str, str, str]:
    """What haystack() is made of."""
    return (job.jobname, job.schedule, job.command, job.username)


def matches(job: Job, needle: str) -> bool:
    return needle.lower() in haystack(job)


class Built:
    """What a job's row was built from, and its cells once built (None until drawn)."""

    __slots__ = ("job", "upcoming", "now", "cells", "widths")

    def __init__(self, job: Job | None, upcoming: datetime | None, *,
                 widths: tuple[int, ...]) -> None:
        self.job, self.upcoming, self.widths = job, upcoming, widths
        self.now: datetime | None = None  # the `now` its clocked cells were made for
        self.cells: list[Cell] | None = None


class JobsTable(Table):
    DEFAULT_CSS = "JobsTable { height: 1fr; scrollbar-size-horizontal: 1; }"
    # Enter said for what it does here (the help lists it): the job's detail.
    BINDINGS = [Binding("enter", "select", "Open the job", id="jobs.open", show=False)]

    sort = "id"
    filter_text = ""
    wide = True
    zebra_stripes = True
    #: A job the cursor goes to as soon as it is shown (set when one is created here).
    wanted: int | None = None

    def sort_by(self, column: str) -> None:
        self.sort = "id" if self.sort == column or column not in SORTS else column

    def next_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]

    def toggle_problems(self) -> None:
        """Problems first, or back to the plain order."""
        self.sort = "id" if self.sort == "problems" else "problems"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.order: list[int] = []  # jobids as shown, top to bottom
        # What each job's row was built from, for every job seen (shown or filtered out).
        self.built: dict[int, Built] = {}
        self.searched: dict[int, str] = {}  # what the filter searches, per jobid
        self.facts: ServerFacts | None = None
        self.upcoming: NextRuns | None = None
        self.jobs: list[Job] = []  # the list the rows were last made from
        self.by_id: dict[int, Job] = {}  # ...by jobid
        self.dirty: set[int] = set()  # jobs whose rows the next show() makes again
        self._to_warm: list[Job] = []  # warm(): jobs not looked at yet, the next last
        self._described: set[tuple[str, str]] = set()  # warm(): schedules made plain English
        self.order_inputs: tuple = ()
        self.grammar = "1.6"
        self._add_columns()

    hidden: set[str] = hidden_columns(FULL)

    def _add_columns(self) -> None:
        self.set_columns((key, label) for key, label in COLUMNS if key not in self.hidden)

    def on_resize(self) -> None:
        hidden = hidden_columns(self.size.width)
        if hidden != self.hidden:
            self.wide, self.hidden = self.size.width >= WIDE, hidden
            self._forget()
            self._add_columns()
            self.post_message(JobsColumnsChanged())  # the screen draws the jobs again
        else:
            self._refresh_visible()

    marks: dict[int, str] = {}

    def _rebuild(self, jobids: set[int]) -> None:
        """These jobs' rows are built again by the next show()."""
        for jobid in jobids & self.built.keys():
            self.built[jobid].job = None
            self.dirty.add(jobid)

    def set_marks(self, marks: dict[int, str]) -> None:
        """Notes shown after a job's name (drift from the jobs file); redraws what changed."""
        if marks is self.marks:
            return
        changed = {jobid for jobid, _ in set(marks.items()) ^ set(self.marks.items())}
        self.marks = marks
        self._rebuild(changed)

    #: Jobs whose last run was far outside their usual lag or duration (tui/insight/lag).
    outliers: dict[int, str] = {}

    def set_outliers(self, outliers: dict[int, str]) -> None:
        if outliers == self.outliers:
            return
        changed = {jobid for jobid, _ in set(outliers.items()) ^ set(self.outliers.items())}
        self.outliers = outliers
        self._rebuild(changed)

    #: HTTP jobs whose last run succeeded but whose endpoint answered an error (tui/outcome).
    http_errors: dict[int, str] = {}

    def set_http_errors(self, errors: dict[int, str]) -> None:
        if errors == self.http_errors:
            return
        changed = {jobid for jobid, _ in set(errors.items()) ^ set(self.http_errors.items())}
        self.http_errors = errors
        self._rebuild(changed)

    #: Each job's recent runs (tui/insight/strips.py), from the source's view.
    strips: Mapping[int, tuple[StripRun, ...]] = {}

    def set_strips(self, strips: Mapping[int, tuple[StripRun, ...]]) -> None:
        """Only the rows whose strip is another object are built again."""
        if strips is self.strips:
            return
        was = self.strips
        changed = {jobid for jobid in was.keys() | strips.keys()
                   if was.get(jobid) is not strips.get(jobid)}
        self.strips = strips
        self._rebuild(changed)

    def _forget(self) -> None:
        self.order, self.built, self.order_inputs = [], {}, ()
        self.jobs, self.by_id, self.dirty, self.searched = [], {}, set(), {}

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        self._refresh_visible()

    # -- filling ------------------------------------------------------------------------
    #: Each job's usual (tui/rules.py), for "stuck": the app's once-a-minute read.
    usuals: Mapping[int, Usual] = _NO_USUAL

    def show(self, jobs: list[Job], upcoming: NextRuns, facts: ServerFacts,
             usuals: Mapping[int, Usual] | None = None) -> None:
        if self.facts is not None and (facts.database, facts.current_user,
                                       facts.scheduler_timezone) != (
                self.facts.database, self.facts.current_user,
                self.facts.scheduler_timezone):
            self.clear()
            self._forget()
        self.facts = facts
        if usuals is not None:
            self.usuals = usuals
        self.grammar = facts.pg_cron_minor or "1.6"  # a parse each time it is asked
        self.upcoming = upcoming
        dropped = self._take(jobs, facts) if jobs is not self.jobs or self.dirty else False
        order = self._ordered(jobs, upcoming)
        # A new order is drawn once, whole; else only a changed row on screen is.
        if dropped or (order is not self.order and order != self.order):
            self.order = order
            self.set_order([str(jobid) for jobid in order])
        self._refresh_visible()
        if self.wanted is not None and str(self.wanted) in self.rows:
            row = self.index_of(str(self.wanted))
            self.wanted = None  # a job just created: the cursor to it
            if row is not None:
                self.move_cursor(row=row)

    def _take(self, jobs: list[Job], facts: ServerFacts) -> bool:
        """Rows gone, rows new, rows whose job changed (or its marks); True when rows went.
        Every job keeps its row, shown or filtered out: a filter only changes the order, and
        the columns keep their widths while the operator types. A refresh looks at the jobs
        that changed, not at all ten thousand."""
        dropped = False
        replaced = changed_jobs(self.jobs, jobs)
        if replaced is None:  # jobs came, went or moved: all looked at
            self.by_id = {j.jobid: j for j in jobs}
            for jobid in [j for j in self.built if j not in self.by_id]:
                del self.built[jobid]  # a job deleted: its row goes too
                self.searched.pop(jobid, None)
                self.drop(str(jobid), redraw=False)
                dropped = True
            replaced, self._to_warm = jobs, jobs[::-1]
        else:
            for job in replaced:
                self.by_id[job.jobid] = job
            self._to_warm += replaced
        self.jobs = jobs
        dirty, self.dirty = self.dirty, set()
        # Only the name and the schedule are known before a row is built (see below).
        known = [(i, c.key) for i, c in enumerate(self.columns) if c.key in ("name", "schedule")]
        fresh: list[tuple[str, tuple[int, ...]]] = []
        for job in [*replaced, *(self.by_id[j] for j in dirty if j in self.by_id)]:
            built = self.built.get(job.jobid)
            if built is not None and (built.job is job or built.job == job):
                continue
            was = built.job if built is not None else None
            if was is None or _searched_fields(was) != _searched_fields(job):
                self.searched.pop(job.jobid, None)
            # Built when drawn: its name and schedule give widths now. Not the plain
            # English: slow to make (per distinct schedule), its width waits for the row to
            # be drawn, as the module says.
            static = self._static(job, facts, means=False)
            widths = [0] * len(self.columns)
            for i, key in known:
                widths[i] = width_of(static[key])
            self.built[job.jobid] = Built(job, None, widths=tuple(widths))
            if built is None:
                fresh.append((str(job.jobid), tuple(widths)))
            else:
                self.put(str(job.jobid), None, tuple(widths))
        if fresh:
            self.put_unbuilt(fresh)
            self.refresh_all()
        return dropped

    def _ordered(self, jobs: list[Job], upcoming: NextRuns) -> list[int]:
        now = self.facts.now if self.facts is not None else _NEVER
        inputs = (id(jobs), len(jobs), self.sort, self.filter_text,
                  upcoming.version if self.sort == "next" else None,
                  # stuck is a matter of time: reorder at most once a minute for it
                  now.replace(second=0, microsecond=0) if self.sort == "problems" else None,
                  id(self.usuals) if self.sort == "problems" else None)
        if inputs == self.order_inputs:
            return self.order
        self.order_inputs = inputs
        if self.filter_text:
            needle, searched = self.filter_text.lower(), self.searched
            shown = [j for j in jobs
                     if needle in (searched.get(j.jobid) or self._haystack(j))]
        else:
            shown = list(jobs)
        if self.sort != "id":
            # Only the sort by next run asks for every job's next run (NextRuns computes
            # them when first asked).
            if self.sort == "next":
                shown.sort(key=lambda j: _sort_key("next", j, upcoming.of(j)))
            else:
                shown.sort(key=lambda j: _sort_key(self.sort, j, None, now, self.usuals))
        return [j.jobid for j in shown]

    def warm(self, count: int) -> bool:
        """Before the first keystroke in the filter needs them (between key presses): each
        job's searched text, and the plain English of each schedule (slow to make: a filter
        shows rows not drawn yet). Up to `count` texts made, a schedule counting as 20; True
        while some are left."""
        todo = self._to_warm
        while todo and count > 0:
            job = todo.pop()
            if self.by_id.get(job.jobid) is not job:
                continue  # changed again (queued again) or gone
            if job.jobid not in self.searched:
                self._haystack(job)
                count -= 1
            if (job.schedule, self.grammar) not in self._described:
                self._described.add((job.schedule, self.grammar))
                describe(job.schedule, self.grammar)
                count -= 20
        return bool(todo)

    def _haystack(self, job: Job) -> str:
        """A job's searched text, made once per version of what it searches (not per
        keystroke): _take forgets it when one of those changes."""
        text = self.searched[job.jobid] = haystack(job)
        return text

    def build(self, key: str) -> list[Cell]:
        """A row drawn (or read) for the first time since its job changed."""
        built = self.built[int(key)]
        facts = self.facts
        assert built.job is not None and facts is not None and self.upcoming is not None
        built.upcoming = self.upcoming.of(built.job)
        built.cells = self._cells(built.job, built.upcoming, facts, facts.scheduler_timezone)
        built.now = facts.now
        return built.cells

    def _refresh_visible(self) -> None:
        """The rows on screen, built, for the latest `now` (their clocked cells)."""
        facts = self.facts
        if facts is None or not self.order:
            return
        first = max(round(self.scroll_y), 0)
        last = min(first + max(self.size.height, 1) + 1, len(self.order), self.row_count)
        for index in range(first, last):
            key = self.keys[index]
            built = self.built.get(int(key))
            if built is None or built.job is None:
                continue  # rebuilt by the next show()
            if self.cells.get(key) is None:
                self.row_cells(key)
            elif built.now != facts.now:
                before = built.cells
                if self.build(key) != before:
                    self.put(key, built.cells)
                else:
                    built.cells = before

    @property
    def selected_jobid(self) -> int | None:
        return int(self.cursor_key) if self.cursor_key is not None else None

    def _static(self, job: Job, facts: ServerFacts, *, means: bool = True) -> dict[str, Cell]:
        """The cells that do not age with the clock nor depend on the last run."""
        name: list[Piece] = [(one_line(job.label, 24 if self.wide else 18), "")]
        extra = []
        if job.database != facts.database:
            extra.append(f"db {one_line(job.database, 20)}")
        if job.username != facts.current_user:
            extra.append(f"as {one_line(job.username, 20)}")
        if extra:
            name.append((f" ({', '.join(extra)})", "dim"))
        if is_http_job(job.command):
            name.append((" http", "cyan"))
        if job.jobid in self.marks:
            name.append((f" {one_line(self.marks[job.jobid], 40)}", "bold magenta"))
        # At 80 columns a long schedule would push the last run off the right edge.
        static = {"name": tuple(name),
                  "schedule": cell(one_line(job.schedule, 24 if self.wide else 16), "bold")}
        if means:
            static["describe"] = cell(describe(job.schedule, self.grammar), "dim")
        return static

    def _cells(self, job: Job, upcoming: datetime | None, facts: ServerFacts,
               tz: str | None) -> list[Cell]:
        if not job.active:
            when, at = cell("paused", "bold yellow"), EMPTY
        elif upcoming is None:
            when, at = cell(no_next_run(job, facts), "dim"), EMPTY
        else:
            when = cell(fmt.relative(upcoming, facts.now, to_the_minute=True))
            at = cell(fmt.short_absolute(upcoming, tz, facts.now), "dim")
        last: list[Piece] = []
        took: list[Piece] = []
        if job.last_status:
            last.append((one_line(job.last_status, 12),
                         fmt.STATUS_STYLE.get(job.last_status, "")))
            if job.jobid in self.http_errors:  # "succeeded", yet the endpoint said no
                last.append((f" → {self.http_errors[job.jobid]}", "bold red"))
            if job.last_status in rules.UNFINISHED:  # stuck or orphaned: said on the row
                said = problem_of(job, facts.now, self.usuals)
                if said in ("stuck", "orphaned"):
                    last.append((f" {said}", "bold red"))
            if job.last_start is not None:  # a run that never started has no "when"
                ago = fmt.compact_ago(job.last_start, facts.now)
                last.append((f" {ago} ago" if self.wide else f" {ago}", "dim"))
            if job.last_start and job.last_end:
                took.append((fmt.duration((job.last_end - job.last_start).total_seconds()), ""))
                if job.jobid in self.outliers:
                    took.append((f" {self.outliers[job.jobid]}", "bold red"))
        elif job.last_run_known:
            last.append(("never", "dim"))
        else:  # no run among the runs searched (no index): older ones may exist
            last.append((fmt.not_in_lookback(job.last_run_lookback or 0, short=not self.wide),
                         "italic"))
        cells = {**self._static(job, facts), "next": when, "at": at, "last": tuple(last),
                 "took": tuple(took), "recent": run_strips.pieces(self.strips.get(job.jobid, ()))}
        return [cells[c.key] for c in self.columns]

