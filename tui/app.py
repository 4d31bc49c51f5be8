"""The Textual application: wiring, the refresh loop and the actions' workers.

Every database call is an await on psycopg's async connection inside a worker, each
with a deadline, so the keyboard answers while a query runs. The next refresh is armed
only when the previous one has finished, and backs off while the server is away.
Errors from any worker reach one handler, which shows the server's message.
"""

from __future__ import annotations

import contextlib
import time
from datetime import datetime
from pathlib import Path

import httpx
import psycopg
from rich.text import Text
from textual import work
from textual.app import App
from textual.command import Hit, Hits, Provider
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
from tui.format import count
from tui.insight import lag
from tui.jobs_file import JobsFile, JobsFileError
from tui.jobs_file import load as load_jobs_file
from tui.models import Job, Run, ServerFacts
from tui.plan import diff
from tui.schedules import NextRuns, zone_note
from tui.screens.confirm import ConfirmScreen, MessageScreen, TypeNameScreen
from tui.screens.detail import JobDetailScreen
from tui.screens.form import JobForm, JobFormScreen
from tui.screens.main import MainScreen
from tui.screens.operator import OperatorScreen
from tui.secrets import mask
from tui.text import inert, one_line, safe_filename
from tui.widgets.header import ServerHeader
from tui.widgets.line import Line

#: What an action may fail with that is the world's doing, not a bug: shown, never fatal.
REFUSALS = (DatabaseError, psycopg.Error, OSError, TimeoutError, httpx.HTTPError)

MAX_BACKOFF_S = 30.0
#: The TUI's export writes at most this many runs (newest first).
EXPORT_MAX = 100_000


class ActionCommands(Provider):
    """The command palette offers exactly what the current screen's keys offer."""

    async def search(self, query: str) -> Hits:
        screen = self.screen
        if not isinstance(screen, OperatorScreen):
            return
        matcher = self.matcher(query)
        for binding in screen.active_bindings_list():
            score = matcher.match(binding.description)
            if score > 0:
                yield Hit(score, matcher.highlight(binding.description),
                          lambda a=binding.action: screen.run_action(a),
                          help=f"key {binding.key_display or binding.key}")


class CronJobsApp(App):
    TITLE = "cronjobs-tui"
    COMMANDS = App.COMMANDS | {ActionCommands}

    def __init__(self, opts: ConnectOptions, settings: Settings | None = None,
                 fleet: list[str] | None = None):
        super().__init__()
        self.settings = settings or Settings()
        # The fleet view (tui/screens/fleet.py): these profiles, opened one at a time.
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
        self._manual_ids = 0
        self._timer: Timer | None = None
        self.audit = AuditLog(default_audit_path())
        self._jobs_file: tuple[Path, JobsFile | None] | None = None
        self._marks: tuple[tuple, dict[int, str]] | None = None
        self._lookback_counted: tuple[list[Job] | None, int, int | None] = (None, 0, None)
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification of the app and its screens: raw text, never markup (a job
        named `rsync [/data] nightly` or `[@click=app.quit]x` is only characters), and inert
        (tui/text.py), whatever the caller passed."""
        super().notify(inert(message), title=one_line(title, 80), severity=severity,
                       timeout=timeout, markup=False)

    def get_default_screen(self) -> Screen:
        if self.fleet:
            from tui.screens.fleet import FleetScreen

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

    @work(group="actions")
    async def export_runs(self) -> None:
        """The runs the stream's filter shows (status, job), newest first, up to
        EXPORT_MAX, to a CSV or JSON file the operator names; messages masked."""
        from pathlib import Path

        from tui.cli import write_runs
        from tui.screens.main import ExportScreen

        table = self.main.runs_table
        where = safe_filename(self.profile or (self.facts.database if self.facts else None),
                              "runs")
        stamp = (self.facts.now if self.facts else datetime.now()).strftime("%Y%m%d-%H%M%S")
        answer = await self.push_screen_wait(ExportScreen(f"runs-{where}-{stamp}.csv"))
        if not answer:
            return
        path = Path(answer).expanduser()
        runs: list[Run] = []
        before = None
        while len(runs) < EXPORT_MAX:
            page = await self.db.runs_recent(limit=1000, before=before,
                                             jobid=table.job_filter, status=table.status_filter)
            runs += page
            if len(page) < 1000:
                break
            before = page[-1].runid
        fmt = "json" if path.suffix.lower() == ".json" else "csv"
        # Written beside, then renamed: a full disk or a broken write never leaves a
        # half-written export under the name asked for.
        part = path.with_name(path.name + ".part")
        try:
            with part.open("w", encoding="utf-8", newline="") as out:
                write_runs(runs[:EXPORT_MAX], fmt, out)
            part.replace(path)
        except OSError as exc:
            part.unlink(missing_ok=True)
            self.notify(f"Not exported: {exc}", severity="error")
            return
        self.notify(f"Exported {min(len(runs), EXPORT_MAX)} run(s) to {path} ({fmt})")

    def on_main_screen_ready(self) -> None:
        self.show_header("connecting…")
        self.refresh_data()

    def on_mount(self) -> None:
        import asyncio
        import signal

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
            self.show_header("reconnecting…" if exc.lost else "error")
            self.main.banner(f"{exc}  (retrying in {self.next_delay():.0f} s)")
        else:
            self.failures = 0
            self.facts, self.jobs = facts, jobs
            self.honour_server_read_only(facts)
            self.flag_outliers(jobs)
            self.main.jobs_table.set_marks(self.marks(jobs, facts))
            self.main.banner(None)
            self.show_header("connected")
            self.show_jobs()
            self.show_runs_title()
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

    @work(exclusive=True, group="usual")
    async def read_usual(self, facts: ServerFacts, jobs: list[Job]) -> None:
        """Each job's usual lag and duration (tui/insight/lag): read once a minute, apart
        from the refresh, so the first screen does not wait for it."""
        try:
            usual = await lag.read(self.db, jobs, facts.scheduler_timezone,
                                   facts.pg_cron_grammar or "1.6")
        except DatabaseError:
            return  # a bonus: a lost connection shows in the banner at the next refresh
        self.usual = usual
        with contextlib.suppress(NoMatches):  # the screens are gone: the app is closing
            self.main.runs_table.set_usual(usual)
            self.flag_outliers(self.jobs)
            self.show_jobs()

    @work(exclusive=True, group="http")
    async def read_http(self, facts: ServerFacts, jobs: list[Job]) -> None:
        """pg_net's answers to HTTP runs (the stream's, and each job's last; tui/outcome):
        once a minute, apart from the refresh, for runs of the last day (pg_net keeps its
        answers for pg_net.ttl, 6 h by default)."""
        from datetime import timedelta

        from tui.http import is_http_job
        from tui.outcome import http_outcomes, last_run

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
            self.show_jobs()

    def flag_outliers(self, jobs: list[Job]) -> None:
        """Jobs whose last run was far outside their usual (memoised: cheap each refresh)."""
        if self.usual is not None:
            self.main.jobs_table.set_outliers({
                j.jobid: flag for j in jobs
                if (flag := self.usual.flag(j.jobid, j.last_runid, j.last_start, j.last_end,
                                            j.last_message))})

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
            self.show_runs_title()

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

    def show_header(self, state: str) -> None:
        self.main.query_one(ServerHeader).show(self.facts, state=state,
                                               read_only=self.read_only)

    def show_jobs(self) -> None:
        if self.facts is None:
            return
        self.next_runs.update(self.jobs, self.facts)
        table = self.main.jobs_table
        table.show(self.jobs, self.next_runs, self.facts)
        tz = zone_note(self.facts)
        from tui.widgets.jobs import SORT_NAMES, problems_summary

        title = (f"Jobs ({len(table.rows)}/{len(self.jobs)}: "
                 f"{problems_summary(self.jobs, self.facts.now)})  next runs in {tz}  "
                 f"sort: {SORT_NAMES[table.sort].split(' (')[0]}")
        if table.filter_text:
            title += f"  filter: {one_line(table.filter_text, 30)}"
            if not table.row_count and self.jobs:
                title += "  (no job matches: Esc clears the filter)"
        if not self.facts.has_run_index:
            title += self._lookback_hint()
        self.main.query_one("#jobs-title", Line).set_text(title)

    def _lookback_hint(self) -> str:
        """Without the (jobid, runid) index: how many jobs' last runs are not known, and
        the fix. Counted once per jobs list (the tracker keeps the list while nothing
        changed), not at every refresh."""
        jobs = self.jobs
        if self._lookback_counted[0] is not jobs:
            unknown = [j for j in jobs if not j.last_run_known]
            self._lookback_counted = (jobs, len(unknown),
                                      unknown[0].last_run_lookback if unknown else 0)
        _, unknown_count, lookback = self._lookback_counted
        if not unknown_count:
            return ""
        # Short: the title shares its line with the counts, the zone and the sort.
        fix = "an index would find them" if self.read_only else "m → Create index"
        return f"  {unknown_count} job(s) not in newest {count(lookback or 0)} runs: {fix}"

    def show_runs_title(self) -> None:
        table = self.main.runs_table
        title = "Runs"
        if table.status_filter:
            title += f"  status: {table.status_filter}"
        if table.job_filter is not None:
            job = self.job_by_id(table.job_filter)
            title += f"  job: {one_line(job.label, 40) if job else table.job_filter}"
        if table.pending:
            title += f"  ({len(table.pending)} new: Home to show)"
        elif not table.row_count and self.stream.last_runid is not None:
            # An empty table under a filter reads as "nothing happened": say it is the filter.
            if table.status_filter or table.job_filter is not None:
                title += "  (no runs match: f and j change the filter)"
            else:
                title += "  (no runs recorded yet)"
        self.main.query_one("#runs-title", Line).set_text(title)

    def open_detail(self, jobid: int) -> None:
        job = self.job_by_id(jobid)
        if job is not None:
            self.push_screen(JobDetailScreen(job))

    # -- actions --------------------------------------------------------------
    @property
    def audit_server(self) -> str:
        """This session's server as the audit log names it (the audit view filters on it)."""
        facts = self.facts
        return (f"{facts.server_addr}:{facts.server_port}/{facts.database}" if facts
                else self.opts.conninfo())

    def record(self, action: str, job: str | None, **fields: object) -> None:
        facts = self.facts
        self.audit.record(action, server=self.audit_server,
                          role=facts.current_user if facts else None,
                          job=job, **fields)  # type: ignore[arg-type]

    @work(group="actions")
    async def trigger_job(self, job: Job) -> None:
        """Run a job now, after a confirmation built from the job as it is on the server
        (never the row on screen): its runs in progress, where it runs, the time limit."""
        from tui.screens.confirm import RunNowScreen

        try:
            plan = await actions.plan_run(self.db, job.jobid)
        except DatabaseError as exc:
            self.record("trigger", job.label, before=job, outcome="refused", detail=str(exc))
            raise
        here = [r for r in self.manual.values() if r.job.jobid == job.jobid]
        choice = await self.push_screen_wait(RunNowScreen(plan, here=len(here)))
        if choice is None:
            return
        await self._run_now(plan, choice.timeout_ms)

    async def _run_now(self, plan: actions.RunPlan, timeout_ms: int | None,
                       as_self: bool = False) -> None:
        job = plan.job
        run = actions.TriggerRun(self.db, job, as_self=as_self, timeout_ms=timeout_ms,
                                 target=plan.target)
        self._manual_ids += 1
        key = self._manual_ids
        self.manual[key] = run
        label = one_line(job.label, 60)
        self.notify(f"Running {label} now (x cancels)…")
        try:
            await run.run()
        except actions.NeedsConfirmation as exc:
            self.manual.pop(key, None)
            how = f"as {exc.role} via SET ROLE" if exc.can_set_role else f"as {exc.user}"
            question = f"{exc}.\n\nRun {job.label} anyway, {how}?"
            if await self.push_screen_wait(ConfirmScreen(question, "Run anyway", danger=True)):
                await self._run_now(plan, timeout_ms, as_self=True)
            return
        except DatabaseError as exc:
            self.record("trigger", job.label, before=job, outcome="error", detail=str(exc))
            raise
        finally:
            self.manual.pop(key, None)  # done, or never started
        limit = f"{timeout_ms / 1000:g} s" if timeout_ms else "the server's own"
        self.record("trigger", job.label, before=job, outcome=run.status,
                    detail=f"{'recorded' if run.recorded else 'not recorded'}, as {run.role}, "
                           f"on {plan.target.where}, time limit {limit}: {run.message}")
        ok = run.status == "succeeded"
        where = "" if run.recorded else " (not recorded: this role may not write run history)"
        self.notify(f"{label}: {run.status}{where}\n{one_line(mask(run.message), 200)}",
                    severity="information" if ok else "error", timeout=8)
        if not run.recorded:
            self._manual_ids += 1
            self.main.runs_table.add_manual(Run(
                runid=-self._manual_ids, jobid=job.jobid,
                jobname=f"{job.label} (manual, not recorded)", database=job.database,
                username=run.role, status=run.status, return_message=run.message,
                start_time=run.start_time, end_time=run.end_time))
        self.refresh_data()

    @work(group="actions")
    async def cancel_manual_run(self, jobid: int) -> None:
        """`x`: stop the job's run in progress: ours from here at once, pg_cron's own (or
        another session's) after a confirmation naming the run and its age."""
        ours = [r for r in self.manual.values() if r.job.jobid == jobid]
        if ours:
            await ours[-1].cancel()  # the newest of ours; x again for an older one
            return
        job = self.job_by_id(jobid)
        label = job.label if job else f"#{jobid}"
        going = [r for r in await actions.runs_in_progress(self.db, jobid) if r.alive]
        if not going:
            self.notify(f"No run of {one_line(label, 60)} is in progress", severity="warning")
            return
        target = going[0]
        question = (f"Cancel {target.describe()} of {label}?\nIts statement is cancelled on "
                    "the server (pg_cancel_backend) and pg_cron records the run as failed.")
        if not await self.push_screen_wait(ConfirmScreen(question, "Stop the run", danger=True,
                                                         cancel="Keep it running")):
            return
        try:
            outcome = await actions.cancel_run(self.db, target)
        except DatabaseError as exc:
            self.record("cancel", label, before=job, outcome="error", detail=str(exc))
            raise
        self.record("cancel", label, before=job,
                    outcome="ok" if outcome.cancelled else "not done", detail=outcome.message)
        self.notify(outcome.message, severity="information" if outcome.cancelled else "warning")
        self.refresh_data()

    @work(group="actions")
    async def pause_or_resume(self, jobid: int) -> None:
        await actions.check_writable(self.db)  # refused before asking, not after
        job = await actions.get_job(self.db, jobid)  # fresh: never trust what a cell shows
        verb = "Resume" if not job.active else "Pause"
        what = ("pg_cron will start it again on schedule." if not job.active else
                "pg_cron will not start it until it is resumed; a run in progress is "
                "canceled.")
        question = f"{verb} {job.label} ({job.schedule})?\n{what}"
        if not await self.push_screen_wait(ConfirmScreen(question, verb)):
            return
        try:
            fresh = await actions.set_active(self.db, jobid, not job.active)
        except DatabaseError as exc:
            self.record(verb.lower(), job.label, before=job, outcome="error", detail=str(exc))
            raise
        self.record(verb.lower(), job.label, before=job, after=fresh)
        self.notify(f"{one_line(fresh.label, 60)} is now "
                    f"{'active' if fresh.active else 'paused'}")
        self.refresh_data()

    @work(group="actions")
    async def edit_job(self, jobid: int) -> None:
        if self.facts is None:
            return
        await actions.check_writable(self.db)  # refused before the form, not at Ctrl+S
        job = await actions.get_job(self.db, jobid)
        if await self.push_screen_wait(JobFormScreen(self.facts, job)):
            self.refresh_data()

    @work(group="actions")
    async def new_job(self) -> None:
        if self.facts is None:
            return
        await actions.check_writable(self.db)
        if await self.push_screen_wait(JobFormScreen(self.facts)):
            self.refresh_data()

    @work(group="actions")
    async def save_job(self, form_screen: JobFormScreen, form: JobForm) -> None:
        """Write the form; the form closes only when the server has accepted it."""
        loaded = form_screen.job
        try:
            if loaded is None:
                jobid = await actions.create_job(
                    self.db, name=form.name or "", schedule=form.schedule,
                    command=form.command, database=form.database or None,
                    username=form.username or None)
                try:
                    created: Job | None = await actions.get_job(self.db, jobid)
                except DatabaseError:
                    created = None  # it was created: the read back is what failed
                self.record("create", form.name, after=created,
                            detail=None if created else f"created as job #{jobid}")
                self.notify(f"Created {one_line(form.name or '', 60)} (job #{jobid})")
                self.main.jobs_table.wanted = jobid
            else:
                changes = {k: v for k, v in (("schedule", form.schedule),
                                             ("command", form.command),
                                             ("database", form.database),
                                             ("username", form.username))
                           if v != getattr(loaded, k)}
                if not changes:
                    form_screen.dismiss(False)
                    return
                saved = await actions.edit_job(self.db, loaded, **changes)
                self.record("edit", loaded.label, before=loaded, after=saved)
                self.notify(f"Saved {loaded.label}: {', '.join(changes)}")
        except actions.JobChanged as exc:
            self.record("edit", loaded.label if loaded else form.name, before=loaded,
                        outcome="conflict", detail=str(exc))
            body = Text("Someone changed this job after you opened it; nothing was written.\n")
            for field, was, now in exc.changes:
                body.append(f"\n{field}: ", style="bold")
                body.append(one_line(mask(str(was)), 60), style="red")
                body.append(" → ")
                body.append(one_line(mask(str(now)), 60), style="green")
            body.append("\n\nYour edit is kept in the form; Cancel and reopen to start "
                        "from the current version.")
            form_screen.show_error("The job changed on the server; nothing was written.")
            await self.push_screen_wait(MessageScreen("The job changed", body))
            return
        except DatabaseError as exc:
            self.record("edit" if loaded else "create", loaded.label if loaded else form.name,
                        before=loaded, outcome="error", detail=str(exc))
            form_screen.show_error(f"Not saved: {mask(actions.refusal(exc))}")
            self.show_refusal(exc, title="Not saved")
            return
        form_screen.dismiss(True)

    @work(group="actions")
    async def delete_job(self, jobid: int) -> None:
        await actions.check_writable(self.db)  # refused before the name is typed
        job = await actions.get_job(self.db, jobid)
        name = job.jobname or str(job.jobid)
        question = (f"Delete {job.label} ({job.schedule})? pg_cron forgets the job; its run "
                    f"history stays in cron.job_run_details.\nType {name} to confirm.")
        if not await self.push_screen_wait(TypeNameScreen(question, name)):
            return
        try:
            await actions.delete_job(self.db, jobid)
        except DatabaseError as exc:
            self.record("delete", job.label, before=job, outcome="error", detail=str(exc))
            raise
        self.record("delete", job.label, before=job)
        self.notify(f"Deleted {job.label}")
        if isinstance(self.screen, JobDetailScreen) and self.screen.job.jobid == jobid:
            self.screen.dismiss()
        self.refresh_data()

    def copy_command(self, job: Job) -> None:
        # OSC 52: reaches the operator's own clipboard, even over SSH. Inert: pasted into a
        # shell, an ESC in the command could end bracketed paste and run what follows.
        self.copy_to_clipboard(inert(mask(job.command)))
        self.notify(f"Copied {one_line(job.label, 60)}'s command (secrets masked)")
