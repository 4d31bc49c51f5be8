"""Enter on a job: its whole command, history paged by runid, health, next five runs."""

from __future__ import annotations

import contextlib

from rich.console import Group
from rich.syntax import Syntax
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import DataTable, Sparkline, Static

from tui import format as fmt
from tui import rules
from tui.cron import check, describe, next_runs, standard, zone_problem
from tui.db import DatabaseError
from tui.db.lastrun import BackSearch
from tui.http_jobs import is_http_job
from tui.insight import strips
from tui.insight.lag import is_manual
from tui.masking import mask
from tui.models import Job, Run
from tui.text import inert, one_line, plain
from tui.ui.screens.http import PgNetAnswers, command_panel
from tui.ui.screens.operator import OperatorScreen
from tui.ui.widgets.accuracy import AccuracyLine
from tui.ui.widgets.footer import KeyFooter
from tui.ui.widgets.timeline_chart import JobTimeline

PAGE = 50
#: How many recent runs the success rate and the sparkline look at.
RECENT = 100
#: Runids one press of `b` searches at most, in slices (tui/db/lastrun.py); b again goes on.
SEARCH_BUDGET = 5_000_000


#: Runs all shorter than this are drawn as no chart: scheduling and timer noise, not a trend.
SPARK_FLOOR_S = 0.1


def zero_based(series: list[float], width: int) -> list[float]:
    """The series for a Sparkline scaled from zero, not from its smallest value (which drew
    tall bars for runs of 0.001 s next to runs of 0.002 s). Sparkline spans min..max of its
    data: a leading 0 sets the floor, and each value repeated so that the 0 shares the first
    column with real values (a column shows the largest of its values) adds no bar of its own."""
    if not series:
        return []
    repeat = -(-2 * max(width, 1) // len(series))  # ceil: at least two values per column
    return [0.0, *(value for value in series for _ in range(repeat))]


class History(DataTable):
    """The job's runs; Enter opens one whole (the Message column cuts it)."""

    BINDINGS = [Binding("enter", "select_cursor", "Open the run, whole", id="detail.open_run",
                        show=False)]


HISTORY_COLUMNS = [("runid", "Run"), ("start", "Started"), ("status", "Status"),
                   ("took", "Took"), ("message", "Message")]


class JobDetailScreen(OperatorScreen):
    # Next runs lead the right-hand panel, which scrolls: however much the statistics say,
    # the next runs stay in view. The last missed or late run has the full width below.
    DEFAULT_CSS = """
    JobDetailScreen #title { height: auto; padding: 0 1; background: $boost; }
    JobDetailScreen #top { height: 45%; min-height: 12; max-height: 24; }
    JobDetailScreen #command { width: 2fr; border: round $primary; padding: 0 1; }
    JobDetailScreen #side { width: 1fr; min-width: 39; border: round $primary; padding: 0 1;
                            scrollbar-size-vertical: 1; }
    JobDetailScreen #upcoming { margin-bottom: 1; }
    JobDetailScreen Sparkline { height: 1; margin-bottom: 1; }
    JobDetailScreen #insight { height: auto; padding: 0 1; }
    JobDetailScreen #strip { height: auto; padding: 0 1; }
    JobDetailScreen #history-title { height: auto; max-height: 3; padding: 0 1;
                                     background: $boost; }
    JobDetailScreen DataTable { height: 1fr; scrollbar-size-horizontal: 1; }
    """
    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("greater_than_sign,pagedown", "older", "Older runs", id="older",
                key_display=">", show=False),
        Binding("less_than_sign,pageup", "newer", "Newer runs", id="newer",
                key_display="<", show=False),
        Binding("b", "search_back", "Search further back", id="search_back"),
    ]

    def __init__(self, job: Job):
        super().__init__()
        self.job = job
        self.pg_net = PgNetAnswers()  # an HTTP job's answers from pg_net, once per last run
        self.pages: list[int | None] = [None]  # the `before` runid of each page seen
        # The last run searched for beyond the look-back (b), and whether to stop at the
        # next slice: stopping between slices never cuts a query short.
        self.search: BackSearch | None = None
        self.searching = False
        self.stop_search = False

    def compose(self) -> ComposeResult:
        yield Static(id="title", markup=False)
        yield JobTimeline(id="job-timeline")  # its next 24 hours at a glance (insight29)
        with Horizontal(id="top"):
            with VerticalScroll(id="command"):
                yield Static(id="command-text", markup=False)
            with VerticalScroll(id="side"):
                yield Static(id="upcoming", markup=False)
                yield Static(id="stats", markup=False)
                yield AccuracyLine(id="accuracy")  # its fire times against its runs
                yield Sparkline([], id="durations")
        # The jobs table's run strip, longer, and the durations on a stated scale.
        strip = Static(id="strip", markup=False)
        strip.display = False
        yield strip
        # The last missed or late run in one sentence (tui/insight), when there is one.
        insight = Static(id="insight", markup=False)
        insight.display = False
        yield insight
        yield Static("History", id="history-title", markup=False)
        yield History(id="history", cursor_type="row", zebra_stripes=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one("#history", DataTable)
        for key, label in HISTORY_COLUMNS:
            table.add_column(label, key=key)
        table.focus()
        self.show_job(self.job)
        if self.job.last_run_known:
            self.load_page()
            self.load_stats()
            self.load_insight()
            self.query_one(AccuracyLine).load(self.operator, self.job)
        else:
            # Its runs, if any, lie beyond the look-back: paging them without the index
            # would read the whole history. The operator asks for that search (b).
            self._show_unknown()

    def selected_job(self) -> Job | None:
        return self.job

    def action_back(self) -> None:
        self.stop_search = True
        self.dismiss()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "send_http" and not is_http_job(self.job.command):
            return False  # not offered where there is no request to send
        if action == "search_back":
            return self.searching or not (self.job.last_run_known
                                          or (self.search is not None and self.search.done))
        return super().check_action(action, parameters)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a run of the history: the run whole (its message is cut in the cell)."""
        from tui.ui.screens.run import RunDetailScreen

        key = event.row_key.value
        run = next((r for r in getattr(self, "last_page", []) if str(r.runid) == key), None)
        if run is not None:
            self.app.push_screen(RunDetailScreen(run))

    def on_data_refreshed(self) -> None:
        """Called by the app after each refresh: the job's state may have changed."""
        fresh = self.operator.job_by_id(self.job.jobid)
        if fresh is None:
            self.query_one("#title", Static).update(
                Text(f"{one_line(self.job.label, 60)}: this job no longer exists",
                     style="bold red"))
            return
        if fresh != self.job:
            self.show_job(fresh)
            if self.pages == [None] and (fresh.last_runid != self.job.last_runid or (
                    fresh.last_run_known and not self.job.last_run_known)):
                # It ran meanwhile, or the index came: its newest runs are at hand.
                self.stop_search = True
                self.load_page()
                self.load_stats()
        self.job = fresh
        self.refresh_bindings()

    # -- drawing --------------------------------------------------------------
    def show_job(self, job: Job) -> None:
        facts = self.operator.facts
        title = Text(one_line(job.label, 60), style="bold")
        title.append(f"   {'active' if job.active else 'PAUSED'}",
                     style="green" if job.active else "bold yellow")
        usual = self.operator.usual
        said = rules.problem(job, facts.now, usual.by_job.get(job.jobid) if usual else None) \
            if facts is not None else None
        if said in ("failing", "stuck", "orphaned"):  # the one rule, as the jobs table says it
            title.append(f"   {said.upper()}", style="bold red")
        title.append(f"   {one_line(job.schedule, 40)}", style="bold")
        version = (facts.pg_cron_grammar if facts else None) or "1.6"
        title.append(f"  {one_line(describe(job.schedule, version))}", style="dim")
        title.append(f"\n database {one_line(job.database, 40)}  as {one_line(job.username, 40)}"
                     f"  job #{job.jobid}",
                     style="dim")
        self.query_one("#title", Static).update(title)
        self.query_one(JobTimeline).show(job, facts, self.app.size.width)
        code = Syntax(inert(mask(job.command)), "sql", word_wrap=True, theme="ansi_dark",
                      background_color="default")
        # HTTP jobs: the request laid out
        self.query_one("#command-text", Static).update(command_panel(self, job, code,
                                                                     self.pg_net))
        heading = Text("Next runs", style="bold")
        lines = [heading]
        tz = facts.scheduler_timezone if facts else None
        if not job.active:
            heading.append("\n paused: none")
        elif facts is None or tz is None:
            heading.append("\n unknown: the scheduler's time zone is unreadable")
        elif (problem := zone_problem(tz)) is not None:
            heading.append(f"\n unknown: cron.timezone is an {one_line(problem)}")
        else:
            runs = next_runs(job.schedule, facts.now, tz, 5,
                             version=facts.pg_cron_grammar or "1.6", last_start=job.last_start)
            if not runs:
                heading.append("\n at server start only" if job.schedule.startswith("@re")
                               else "\n never (this schedule cannot fire)")
                for warning in check(job.schedule, version).warnings:  # e.g. @yearly on 1.6
                    heading.append(f"\n {one_line(warning)}", style="yellow")
            else:  # the zone once, in the heading: each line then fits a 120-column screen
                heading.append(f" ({one_line(tz)})", style="bold")
            for when in runs:  # cut rather than wrapped where the panel is narrow (80x24)
                line = Text(f" {fmt.absolute(when, tz)}  ", no_wrap=True, overflow="ellipsis")
                line.append(fmt.relative(when, facts.now), style="dim")
                lines.append(line)
            # Where ordinary cron (croniter) would run it otherwise: one line, not for intervals.
            other = standard.compare(job.schedule, facts.now, tz, 1, version=version)
            if other is not None and other.differs and other.standard_error != standard.NOT_CRON:
                lines.append(Text(f" {one_line(standard.summary(other), 200)}", style="yellow",
                                  no_wrap=True, overflow="ellipsis"))
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
                shortest, longest = fmt.duration(min(durations)), fmt.duration(max(durations))
                stats.append(f"\n took {shortest} every time" if shortest == longest
                             else f"\n took {shortest} to {longest}", style="dim")
        usual = self.operator.usual
        mine = usual.by_job.get(self.job.jobid) if usual is not None else None
        for label, values in (("duration", mine.duration if mine else None),
                              ("start lag", mine.lag if mine else None)):
            if values is not None:  # the app's once-a-minute read (tui/insight/lag)
                stats.append(f"\n {label} median {fmt.duration(values[0])}, "
                             f"p95 {fmt.duration(values[1])}", style="dim")
        self.query_one("#stats", Static).update(stats)
        self._show_strip(runs, mine)
        series = [r.duration or 0.0 for r in reversed(finished)]
        sparkline = self.query_one("#durations", Sparkline)
        sparkline.data = zero_based(series, max(sparkline.size.width, 160))
        # One bar says nothing about a trend; durations all alike, or all within the timer's
        # noise, have no shape worth drawing (the words above say how long they took).
        sparkline.display = (len(series) > 1 and len({fmt.duration(d) for d in series}) > 1
                             and max(series) >= SPARK_FLOOR_S)

    def _show_strip(self, runs: list[Run], usual: rules.Usual | None) -> None:
        """The job's last scheduled runs as the jobs table marks them (the same rules), and
        their durations' sparkline with its scale. `runs`: newest first."""
        lags = self.operator.usual
        shown = [strips.judged(r.runid, r.status, orphaned=r.orphaned, duration=r.duration,
                               lag=lags.lag(r.jobid, r.start_time, r.runid)
                               if lags is not None and r.status == "succeeded" else None,
                               usual=usual)
                 for r in reversed(runs) if not is_manual(r.return_message)]
        line = self.query_one("#strip", Static)
        line.display = bool(shown)
        if not shown:
            return
        shown = shown[-strips.DETAIL_RUNS:]
        cells = strips.strip(shown, len(shown))
        text = Text(f"{'Runs':<10}", style="bold", no_wrap=True, overflow="ellipsis")
        for glyph, kind in cells:
            text.append(glyph, style=strips.STYLES[kind] if kind else "")
        kinds = [k for k in strips.STYLES if any(kind == k for _, kind in cells)]
        said = ", ".join(f"{strips.GLYPHS[k]} {k}" for k in kinds)
        text.append(f"  last {len(shown)}, newest at the right: {said}", style="dim")
        bars, scale = strips.sparkline([r.duration for r in shown if r.duration is not None],
                                       strips.DETAIL_RUNS)
        # Under each run its bar (none for an unfinished one): the columns line up.
        left = iter(bars)
        under = "".join(next(left) if r.duration is not None else " " for r in shown)
        took = Text(f"{'Durations':<10}", style="bold", no_wrap=True, overflow="ellipsis")
        took.append(under)
        took.append(f"  scale {scale}" if bars else f"  {scale}", style="dim")
        line.update(Group(text, took))

    def _show_page(self, runs: list[Run]) -> None:
        table = self.query_one("#history", DataTable)
        rows = []
        # The message takes the width the other columns leave (no sideways scrolling, whose
        # scrollbar drew stray cells); Enter shows a run whole.
        runid_width = max([len(str(run.runid)) for run in runs] or [3])
        room = max(self.size.width - runid_width - 19 - 12 - 10 - 2 * 5 - 2, 20)
        for run in runs:
            status = run.status or "?"
            rows.append((run.runid, (
                Text(str(run.runid), style="dim"),
                Text(run.start_time.strftime("%Y-%m-%d %H:%M:%S") if run.start_time
                     else "queued"),
                Text(one_line(status, 12), style=fmt.STATUS_STYLE.get(status, "")),
                Text(fmt.duration(run.duration)),
                Text(one_line(mask(run.return_message), room)))))
        # Widths from this page's cells, set with the columns: DataTable would otherwise
        # measure new rows only when it next goes idle, and until then draws every column
        # cut to its label.
        table.clear(columns=True)
        for index, (key, label) in enumerate(HISTORY_COLUMNS):
            width = max([len(label), *(cells[index].cell_len for _, cells in rows)])
            table.add_column(label, key=key, width=width)
        for runid, cells in rows:
            table.add_row(*cells, key=str(runid))
        page = len(self.pages)
        more = "  > older" if len(runs) == PAGE else ""
        newer = "  < newer" if page > 1 else ""
        count = f"{len(runs)} run" + ("" if len(runs) == 1 else "s")
        self.query_one("#history-title", Static).update(
            f"History, page {page} ({count}, newest first){newer}{more}")
        self.last_page = runs

    def _show_unknown(self) -> None:
        searched = fmt.count(self.job.last_run_lookback or 0)
        self.query_one("#stats", Static).update(Text.assemble(
            ("Recent runs", "bold"), (f"\n none in newest {searched} runs", "dim")))
        self.query_one("#durations", Sparkline).display = False
        self._search_title(
            f"No run of this job among the newest {searched} runs: without a (jobid, runid) "
            "index older runs are not searched.  b: search further back"
            + ("" if self.operator.read_only else "  m: create the index"))

    def _search_title(self, text: str) -> None:
        self.query_one("#history-title", Static).update(plain(text))

    def _search_progress(self, search: BackSearch) -> str:
        share = 100 * search.searched // search.total if search.total else 100
        return f"{search.searched:,} of {search.total:,} runs searched ({share}%)"

    # -- searching further back ------------------------------------------------
    def action_search_back(self) -> None:
        if self.searching:
            self.stop_search = True
            self._search_title("Stopping after this slice…")
            return
        self.search_back()

    @work(exclusive=True, group="detail-search", exit_on_error=False)
    async def search_back(self) -> None:
        """Down the history in slices until a run of this job, the whole history, the
        budget of one press, or the operator's b; progress after each slice."""
        with contextlib.suppress(NoMatches):  # the view closed while a slice was read
            await self._search_back()

    async def _search_back(self) -> None:
        if self.search is None:
            self.search = BackSearch(self.operator.db, self.job.jobid, limit=PAGE)
        search = self.search
        self.searching, self.stop_search = True, False
        self.refresh_bindings()
        label = one_line(self.job.label, 40)
        try:
            if not search.begun:
                await search.begin()
            start = search.searched
            while not search.done and not self.stop_search:
                self._search_title(f"Searching further back for {label}: "
                                   f"{self._search_progress(search)}…  b stops")
                await search.step()
                if search.searched - start >= SEARCH_BUDGET:
                    break
        except DatabaseError as exc:
            where = (f"{self._search_progress(search)}; b goes on from there" if search.begun
                     else "b tries again")
            self._search_title(f"Search stopped: {exc}  ({where})")
            return
        finally:
            self.searching = False
            self.refresh_bindings()
        if self.job.last_run_known and not search.found:
            return  # it ran meanwhile, and its history page is shown instead
        if search.found:
            self._show_page(search.found)
            self._show_stats(search.found)
            newest = search.found[0]
            self._search_title(
                f"Last run #{newest.runid}, found {search.top - newest.runid:,} runs back "
                f"({len(search.found)} of its runs shown, newest first)")
        elif search.done:
            self._search_title(f"No run of this job in the whole history ({search.total:,} "
                               "runs): it has never run, or its runs were deleted")
            self.query_one("#stats", Static).update(Text.assemble(
                ("Recent runs", "bold"), ("\n none: it has never run", "dim")))
        elif self.stop_search:
            self._search_title(f"Stopped: no run of this job yet, "
                               f"{self._search_progress(search)}.  b goes on")
        else:
            self._search_title(f"No run of this job yet, {self._search_progress(search)}.  "
                               f"b searches {SEARCH_BUDGET:,} more")

    # -- loading --------------------------------------------------------------
    @work(exclusive=True, group="detail-page", exit_on_error=False)
    async def load_page(self) -> None:
        try:
            runs = await self.operator.db.runs_recent(limit=PAGE, jobid=self.job.jobid,
                                                      before=self.pages[-1])
        except DatabaseError as exc:
            self.notify(f"history: {exc}", severity="error")
            return
        with contextlib.suppress(NoMatches):  # closed while the query ran
            self._show_page(runs)

    @work(exclusive=True, group="detail-stats", exit_on_error=False)
    async def load_stats(self) -> None:
        try:
            # Its unfinished runs come judged orphaned or not, for the strip.
            runs = await self.operator.db.runs_recent(limit=RECENT, jobid=self.job.jobid)
        except DatabaseError as exc:
            self.notify(f"statistics: {exc}", severity="error")
            return
        with contextlib.suppress(NoMatches):  # closed while the query ran
            self._show_stats(runs)

    @work(exclusive=True, group="detail-insight", exit_on_error=False)
    async def load_insight(self) -> None:
        """Explain the last day's scheduled times (tui/insight) and say the last missed or
        late one in a sentence; nothing when all ran on time."""
        from tui.insight.explain import last_trouble, sentence
        from tui.insight.gather import explain_job

        facts = self.operator.facts
        if facts is None:
            return
        audit = self.operator.audit
        try:
            # A session of its own: 50,000 runs read never queue the refresh behind them.
            async with self.operator.db.apart() as db:
                result = await explain_job(db, facts, self.job, None,
                                           audit.tail(20_000) if audit else [], days=1,
                                           max_runs=50_000, now=facts.now)
        except DatabaseError:
            return  # a bonus line: the zone or history it needs is shown as unknown elsewhere
        last = last_trouble(result.outcomes)
        try:
            widget = self.query_one("#insight", Static)
        except NoMatches:  # closed while the query ran
            return
        widget.display = last is not None
        if last is not None:
            widget.update(plain(one_line(mask(sentence(last, result.zone))), style="yellow"))

    def action_older(self) -> None:
        runs = getattr(self, "last_page", [])
        if len(runs) == PAGE:
            self.pages.append(runs[-1].runid)
            self.load_page()

    def action_newer(self) -> None:
        if len(self.pages) > 1:
            self.pages.pop()
            self.load_page()
