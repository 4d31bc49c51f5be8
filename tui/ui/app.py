"""The Textual application: wiring, the refresh loop and the one error handler.

Screens see the app through tui/ui/services.py; the actions on jobs are in
tui/ui/job_actions.py, the main screen draws its own titles (tui/ui/screens/main.py).

Every database call is an await on psycopg's async connection inside a worker, each
with a deadline, so the keyboard answers while a query runs. The next refresh is armed
only when the previous one has finished, and backs off while the server is away.
Errors from any worker reach one handler, which shows the server's message.
"""

from __future__ import annotations

import contextlib
import gc
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
from textual import work
from textual.app import App
from textual.css.query import NoMatches
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import WorkerFailed

from tui.audit import AuditLog
from tui.audit import default_path as default_audit_path
from tui.config import Settings
from tui.db import ConnectOptions, Database, DatabaseError, RunStream, actions
from tui.db.client import require_pg_cron
from tui.db.stream import JobsTracker
from tui.format import server_label
from tui.insight import lag
from tui.masking import mask
from tui.models import Job, Run, ServerFacts, changed_jobs
from tui.plan import diff
from tui.plan.jobs_file import JobsFile, JobsFileError
from tui.plan.jobs_file import load as load_jobs_file
from tui.text import inert, one_line
from tui.ui.job_actions import JobActions
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.main import MainScreen
from tui.ui.widgets.palette import ActionCommands
from tui.upcoming import NextRuns

#: What an action may fail with that is the world's doing, not a bug: shown, never fatal.
REFUSALS = (DatabaseError, psycopg.Error, OSError, TimeoutError, httpx.HTTPError)

MAX_BACKOFF_S = 30.0


class CronJobsApp(App):
    TITLE = "cronjobs-tui"
    COMMANDS = App.COMMANDS | {ActionCommands}

    def __init__(self, opts: ConnectOptions, settings: Settings | None = None,
                 fleet: list[str] | None = None):
        super().__init__()
        self.settings = settings or Settings()
        # The fleet view (tui/ui/screens/fleet.py): these profiles, opened one at a time.
        self.fleet = list(fleet or [])
        self.fleet_settings = self.settings
        self.profile: str | None = None
        self.read_only = opts.read_only or self.settings.read_only
        if self.read_only and not opts.read_only:
            from dataclasses import replace

            opts = replace(opts, read_only=True)
        self.opts = opts
        self.db = Database(opts)
        self.stream = RunStream(self.db)
        self.jobs_tracker = JobsTracker(self.db)  # flat cost per refresh at any history size
        self.next_runs = NextRuns()
        self.failures = 0
        self.facts: ServerFacts | None = None
        self.jobs: list[Job] = []
        self.usual: lag.Usuals | None = None  # each job's usual lag and duration
        self._usual_at = float("-inf")  # when it was last asked for (monotonic)
        self._http_at = 0.0  # when pg_net's answers were last matched to runs (tui/outcome)
        # Manual runs in progress from here, by a number of their own (a job may have two).
        self.manual: dict[int, actions.TriggerRun] = {}
        self.job_actions = JobActions(self)
        self._timer: Timer | None = None
        self._warming = False  # warm_up() at work
        self.audit = AuditLog(default_audit_path())
        self._jobs_file: tuple[Path, JobsFile | None] | None = None
        self._marks: tuple[tuple, dict[int, str]] | None = None
        # flag_outliers(): the usual and the jobs judged, and the flags they gave.
        self._flags: tuple[lag.Usuals | None, list[Job], dict[int, str]] = (None, [], {})
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    @staticmethod
    def freeze_heap() -> None:
        """What was built before the app runs (modules, Textual's styles) lives as long as
        it does: kept out of the garbage collector's walks, which the first refresh's ten
        thousand rows would otherwise make over it again and again (0.1 s of the first
        screen, measured with `cronjobs-tui bench`). Not for apps made in tests: frozen
        objects are never freed."""
        gc.freeze()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.freeze_heap()
        return super().run(*args, **kwargs)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification of the app and its screens: raw text, never markup (a job
        named `rsync [/data] nightly` or `[@click=app.quit]x` is only characters), and inert
        (tui/text.py), whatever the caller passed."""
        super().notify(inert(message), title=one_line(title, 80), severity=severity,
                       timeout=timeout, markup=False)

    def get_default_screen(self) -> Screen:
        if self.fleet:
            from tui.ui.screens.fleet import FleetScreen

            return FleetScreen(self.fleet)
        return MainScreen()

    # -- the fleet: one profile's full screen at a time ----------------------------
    def open_profile(self, name: str) -> None:
        """Point the app at profile `name` and open its main screen (Esc comes back)."""
        from dataclasses import replace

        from tui.fleet import options_for

        opts, settings = options_for(self.fleet_settings, name)
        self.settings, self.profile = settings, name
        self.read_only = opts.read_only or settings.read_only
        self.opts = replace(opts, read_only=self.read_only)
        self.db = Database(self.opts)
        self.stream = RunStream(self.db)
        if hasattr(self, "jobs_tracker"):
            self.jobs_tracker = type(self.jobs_tracker)(self.db)
        self.next_runs = NextRuns()
        self.failures, self.facts, self.jobs = 0, None, []
        self.usual, self._usual_at = None, float("-inf")
        self.sub_title = name
        self.push_screen(MainScreen())

    def back_to_fleet(self) -> bool:
        """From a profile's main screen back to the fleet view; False when not in one."""
        if not self.fleet or not isinstance(self.screen, MainScreen):
            return False
        if self.manual:
            self.notify("A manual run is in progress here: wait for it or cancel it (x)",
                        severity="warning")
            return True
        if self._timer is not None:
            self._timer.stop()
        self.workers.cancel_group(self, "refresh")
        db = self.db
        self.pop_screen()
        self.profile, self.facts, self.jobs, self.sub_title = None, None, [], ""
        self.run_worker(db.close(), group="close", exit_on_error=False)
        return True

    def on_main_screen_ready(self) -> None:
        self.main.show_header("connecting…")
        self.refresh_data()

    def on_mount(self) -> None:
        import asyncio
        import signal

        if not self.fleet:  # the fleet view connects when a profile is opened
            self.run_worker(self.db.open(), group="connect")

        # sshd sends SIGHUP when the connection drops: leave as on `q`, so that a manual
        # run in progress is cancelled on the server and recorded, never left 'running'.
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._hang_up)

    def _hang_up(self) -> None:
        self._leaving = "the terminal hung up"
        self.exit()

    def exit(self, *args: object, **kwargs: object) -> None:  # type: ignore[override]
        # Said before Textual cancels the workers, so a run cut short says why.
        reason = getattr(self, "_leaving", None) or "the operator quit"
        for run in self.manual.values():
            run.stopping(reason)
        super().exit(*args, **kwargs)  # type: ignore[arg-type]

    async def on_unmount(self) -> None:
        reason = getattr(self, "_leaving", None) or "the operator quit"
        for run in list(self.manual.values()):
            await run.abort(reason)
        await self.db.close()

    def _handle_exception(self, error: Exception) -> None:
        """The one place an action's failure lands, from a worker or a handler of any
        screen: a refusal (by the server, the network, the file system) is shown in one
        sentence with what to do, and the app goes on. Anything else is a bug: the app
        stops with its traceback, as Textual does."""
        cause = error.error if isinstance(error, WorkerFailed) else error
        if isinstance(cause, REFUSALS):
            self.show_refusal(cause)
            return
        super()._handle_exception(error)

    def show_refusal(self, error: BaseException, title: str = "Not done") -> None:
        if isinstance(error, (DatabaseError, psycopg.Error, TimeoutError)):
            message = actions.refusal(error)
        else:
            message = str(error) or type(error).__name__
        self.notify(one_line(mask(message), 400), title=title, severity="error", timeout=12)

    # -- refresh loop ---------------------------------------------------------
    @work(exclusive=True, group="refresh")
    async def refresh_data(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        closing = False
        try:
            await self._refresh()
        except NoMatches:
            closing = True  # the screens are gone: the app is closing
        finally:
            if not closing:  # re-armed even after an unexpected error, which is reported
                self._timer = self.set_timer(self.next_delay(), self.refresh_data)

    async def _refresh(self) -> None:
        try:
            facts = self.observe(await self.db.facts())
            require_pg_cron(facts)
            jobs = await self.jobs_tracker.read(indexed=facts.has_run_index)
            if self.stream.last_runid is None:
                self.main.runs_table.replace(await self.stream.start())
            else:
                new, changed = await self.stream.poll()
                self.main.runs_table.add(new, changed)
        except DatabaseError as exc:
            self.failures += 1
            self.main.show_header("reconnecting…" if exc.lost else "error")
            self.main.banner(f"{exc}  (retrying in {self.next_delay():.0f} s)")
        else:
            self.failures = 0
            self.facts, self.jobs = facts, jobs
            self.honour_server_read_only(facts)
            self.flag_outliers(jobs)
            self.main.jobs_table.set_marks(self.marks(jobs, facts))
            self.main.banner(None)
            self.main.show_header("connected")
            self.main.show_jobs()
            self.main.show_runs_title()
            self.warm_up()
            for screen in self.screen_stack:
                if isinstance(screen, JobDetailScreen):
                    screen.on_data_refreshed()
            if self._usual_at == float("-inf"):
                # Not while the first screen is being drawn: a couple of seconds later.
                self._usual_at = time.monotonic() - lag.REFRESH_S + lag.FIRST_AFTER_S
            elif time.monotonic() - self._usual_at >= lag.REFRESH_S:
                self._usual_at = time.monotonic()
                self.read_usual(facts, jobs)
            if time.monotonic() - self._http_at >= lag.REFRESH_S:
                self._http_at = time.monotonic()
                self.read_http(facts, jobs)

    def warm_up(self) -> None:
        """What the first keystroke in the filter (each job's searched text) and the first
        sort by next run (each job's next run) would compute for all ten thousand jobs, made
        after the screen is drawn (half a second later: not while the first screen is being
        drawn), a slice of about 10 ms at a time: a key pressed meanwhile waits for one slice
        at most."""
        if not self._warming:
            self._warming = True
            self.set_timer(0.5, self._warm_slice)

    def _warm_slice(self) -> None:
        try:
            more = self.main.jobs_table.warm(500) or self.next_runs.fill(500)
        except NoMatches:  # the screens are gone: the app is closing
            more = False
        self._warming = more
        if more:
            self.set_timer(0.02, self._warm_slice)

    # Named: Textual would describe the worker by the repr of its arguments, ten thousand
    # jobs made into text (40 ms) at each call.
    @work(exclusive=True, group="usual", description="each job's usual lag and duration")
    async def read_usual(self, facts: ServerFacts, jobs: list[Job]) -> None:
        """Each job's usual lag and duration (tui/insight/lag): read once a minute, apart
        from the refresh, so the first screen does not wait for it."""
        try:
            usual = await lag.read(self.db, jobs, facts.scheduler_timezone,
                                   facts.pg_cron_grammar or "1.6", previous=self.usual)
        except DatabaseError:
            return  # a bonus: a lost connection shows in the banner at the next refresh
        self.usual = usual
        with contextlib.suppress(NoMatches):  # the screens are gone: the app is closing
            self.main.runs_table.set_usual(usual)
            self.flag_outliers(self.jobs)
            self.main.show_jobs()

    @work(exclusive=True, group="http", description="pg_net's answers to HTTP runs")
    async def read_http(self, facts: ServerFacts, jobs: list[Job]) -> None:
        """pg_net's answers to HTTP runs (the stream's, and each job's last; tui/outcome):
        once a minute, apart from the refresh, for runs of the last day (pg_net keeps its
        answers for pg_net.ttl, 6 h by default)."""
        from datetime import timedelta

        from tui.http_jobs import is_http_job
        from tui.http_jobs.outcome import http_outcomes, last_run

        http_jobs = {j.jobid for j in jobs if is_http_job(j.command)}
        if not http_jobs:
            return
        since = facts.now - timedelta(days=1)
        runs: list[Run] = []
        with contextlib.suppress(NoMatches):
            runs = [r for r in self.main.runs_table.runs.values()
                    if r.jobid in http_jobs and r.start_time and r.start_time >= since]
        lasts = {j.jobid: run for j in jobs if j.jobid in http_jobs
                 and (run := last_run(j)) is not None
                 and run.start_time is not None and run.start_time >= since}
        wanted = {r.runid: r for r in [*runs, *lasts.values()]}
        try:
            outcomes = await http_outcomes(self.db, list(wanted.values()), jobs,
                                           current_database=facts.database, now=facts.now)
        except DatabaseError:
            return  # a bonus: a lost connection shows in the banner at the next refresh
        with contextlib.suppress(NoMatches):  # the screens are gone: the app is closing
            self.main.runs_table.set_http(outcomes)
            self.main.jobs_table.set_http_errors({
                jobid: got.short() for jobid, run in lasts.items()
                if (got := outcomes.get(run.runid)) is not None and got.is_error})
            self.main.show_jobs()

    def flag_outliers(self, jobs: list[Job]) -> None:
        """Jobs whose last run was far outside their usual: judged again for the jobs that
        changed, or all when the usual did (once a minute)."""
        usual = self.usual
        if usual is None:
            return
        was_usual, was_jobs, flags = self._flags
        replaced = changed_jobs(was_jobs, jobs) if was_usual is usual else None
        if replaced is None:
            flags, replaced = {}, jobs
        else:
            flags = dict(flags)
        for j in replaced:
            flag = usual.flag(j.jobid, j.last_runid, j.last_start, j.last_end, j.last_message)
            if flag:
                flags[j.jobid] = flag
            else:
                flags.pop(j.jobid, None)
        self._flags = (usual, jobs, flags)
        self.main.jobs_table.set_outliers(flags)

    def observe(self, facts: ServerFacts) -> ServerFacts:
        """The facts as the screen will use them; snapshot tests pin the clock here."""
        return facts

    def marks(self, jobs: list[Job], facts: ServerFacts) -> dict[int, str]:
        """Jobs that differ from the profile's jobs file, with how (empty without a file)."""
        path = self.settings.jobs_file
        if path is None:
            return {}
        if self._jobs_file is None or self._jobs_file[0] != path:
            try:
                self._jobs_file = (path, load_jobs_file(path))
            except JobsFileError as exc:
                self._jobs_file = (path, None)
                self.notify(str(exc), title="Jobs file", severity="error", timeout=10)
        spec = self._jobs_file[1]
        if spec is None:
            return {}
        # The diff reads only the jobs' definitions: redone when cron.job changed (its
        # fingerprint), not at every refresh that merely brought new runs.
        key = (path, self.jobs_tracker.fingerprint, facts.database, facts.current_user,
               facts.pg_cron_version)
        if self._marks is None or self._marks[0] != key:
            self._marks = (key, {
                item.jobid: (f"≠ file: {', '.join(item.fields)}" if item.fields
                             else f"file: {item.action}")
                for item in diff(spec, jobs, facts).items if item.jobid is not None})
        return self._marks[1]

    def next_delay(self) -> float:
        base = self.settings.refresh_interval
        return min(base * 2 ** self.failures, MAX_BACKOFF_S) if self.failures else base

    @work(exclusive=True, group="refresh")
    async def restart_stream(self) -> None:
        table = self.main.runs_table
        self.stream = RunStream(self.db, jobid=table.job_filter, status=table.status_filter)
        try:
            table.replace(await self.stream.start())
        finally:
            self.main.show_runs_title()

    # -- drawing --------------------------------------------------------------
    @property
    def main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise NoMatches("no main screen")

    def job_by_id(self, jobid: int) -> Job | None:
        return next((j for j in self.jobs if j.jobid == jobid), None)

    def job_by_name(self, name: str) -> Job | None:
        return next((j for j in self.jobs if j.jobname == name), None)

    def honour_server_read_only(self, facts: ServerFacts) -> None:
        """Read-only mode when the server says so (a standby, or default_transaction_read_only
        on for this role or database), as if --read-only were given: the mutating keys go.
        Never left to the server to refuse: cron.unschedule deletes even in a read-only
        transaction."""
        read_only = self.opts.read_only or facts.read_only_reason is not None
        if read_only != self.read_only:
            self.read_only = read_only
            for screen in self.screen_stack:
                screen.refresh_bindings()

    def show_jobs(self) -> None:
        """The jobs table and its title drawn again (the table asks when its columns change)."""
        self.main.show_jobs()

    def open_detail(self, jobid: int) -> None:
        job = self.job_by_id(jobid)
        if job is not None:
            self.push_screen(JobDetailScreen(job))

    # -- the audit log ----------------------------------------------------------
    @property
    def audit_server(self) -> str:
        """This session's server as the audit log names it (the audit view filters on it)."""
        facts = self.facts
        return server_label(facts) if facts else self.opts.conninfo()

    def record(self, action: str, job: str | None, **fields: object) -> None:
        facts = self.facts
        self.audit.record(action, server=self.audit_server,
                          role=facts.current_user if facts else None,
                          job=job, **fields)  # type: ignore[arg-type]
