"""The Textual application: wiring and lifecycle, the refresh loop, the one refusal funnel.

A database is a Source (tui/ui/source.py) whose View of each refresh goes down to the main
screen in one call; screens reach the app through tui/ui/services.py and post messages up
(tui/ui/messages.py); job actions (tui/ui/job_actions.py) return outcomes the app hands down.
Every database call runs in a worker with a deadline; failures reach on_worker_state_changed.
"""
from __future__ import annotations

import contextlib
import gc
from dataclasses import replace
from typing import Any

from textual import work
from textual.app import App
from textual.css.query import NoMatches
from textual.driver import Driver
from textual.notifications import SeverityLevel
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import Worker, WorkerState

from tui.audit import AuditLog
from tui.audit import default_path as default_audit_path
from tui.config import Settings
from tui.db import ConnectOptions, actions
from tui.models import ServerFacts
from tui.text import inert, one_line
from tui.ui.driver import terminal_driver
from tui.ui.job_actions import JobActions
from tui.ui.messages import REFUSALS, Failed, Outcome, refusal_text
from tui.ui.screens.detail import JobDetailScreen
from tui.ui.screens.main import MainScreen
from tui.ui.services import SourceReads
from tui.ui.source import RunsChange, Source, View
from tui.ui.widgets.accuracy import ServerAccuracy
from tui.ui.widgets.palette import ActionCommands


class CronJobsApp(SourceReads, App):
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
        self.source = Source(replace(opts, read_only=opts.read_only or self.settings.read_only),
                             self.settings, observe=self.observe)
        # Manual runs in progress from here, by a number of their own (a job may have two).
        self.manual: dict[int, actions.TriggerRun] = {}
        self.job_actions = JobActions(self)
        self._timer: Timer | None = None
        self._leaving = "the operator quit"  # what a manual run cut short by our exit says
        self._read_only = self.source.read_only  # as the screens' bindings last saw it
        self.audit = AuditLog(default_audit_path())
        self.server_accuracy = ServerAccuracy()  # the header's figure, worked out now and then
        if self.settings.keys:
            self.set_keymap(self.settings.keys)

    @staticmethod
    def freeze_heap() -> None:
        """Out of the collector's walks: what exists before run() lives as long as the app."""
        gc.freeze()

    def run(self, *args: Any, **kwargs: Any) -> Any:
        self.freeze_heap()
        return super().run(*args, **kwargs)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None:
        """Every notification of the app and its screens: raw text, never markup (a job named
        `rsync [/data] nightly` or `[@click=app.quit]x` is only characters), and inert."""
        super().notify(inert(message), title=one_line(title, 80), severity=severity,
                       timeout=timeout, markup=False)

    def get_default_screen(self) -> Screen:
        if self.fleet:
            from tui.ui.screens.fleet import FleetScreen

            return FleetScreen(self.fleet)
        return MainScreen()

    # -- the fleet: one profile's full screen at a time ----------------------------
    def open_profile(self, name: str) -> None:
        """Profile `name`'s main screen, on a Source of its own (Esc comes back)."""
        from tui.fleet import options_for

        opts, settings = options_for(self.fleet_settings, name)
        self.settings, self.profile = settings, name
        self.source = Source(replace(opts, read_only=opts.read_only or settings.read_only),
                             settings, observe=self.observe)
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
        source, self.profile, self.sub_title = self.source, None, ""
        self.source = Source(source.opts, self.fleet_settings, observe=self.observe)
        self.pop_screen()
        self.run_worker(source.close(), group="close", exit_on_error=False)
        return True

    # -- lifecycle ----------------------------------------------------------------------
    def on_main_screen_ready(self) -> None:
        self.main.show_view(self.source.view)
        self.refresh_data()

    def on_mount(self) -> None:
        if not self.fleet:  # the fleet view connects when a profile is opened
            self.run_worker(self.source.open(), group="connect")

    def get_driver_class(self) -> type[Driver]:
        return terminal_driver(super().get_driver_class())  # tui/ui/driver.py: SIGHUP

    def hang_up(self) -> None:
        """The terminal went away: leave as on `q` (a manual run cancelled and recorded)."""
        self._leaving = "the terminal hung up"
        self.exit()

    def exit(self, *args: object, **kwargs: object) -> None:
        # Said before Textual cancels the workers, so a run cut short says why.
        for run in self.manual.values():
            run.stopping(self._leaving)
        super().exit(*args, **kwargs)  # type: ignore[arg-type]

    async def on_unmount(self) -> None:
        for run in list(self.manual.values()):
            await run.abort(self._leaving)
        await self.source.close()

    # -- the one refusal funnel -------------------------------------------------------------
    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """The app's workers end here: an action's outcome is handed down, a failure goes to
        the funnel (but a session's closing: it is gone either way)."""
        if event.worker.group == "close":
            return
        if event.state == WorkerState.SUCCESS and isinstance(event.worker.result, Outcome):
            self.apply(event.worker.result)
        elif event.state == WorkerState.ERROR and event.worker.error is not None:
            self.on_failed(Failed(event.worker.error))

    def on_failed(self, message: Failed) -> None:
        """A refusal (by the server, the network, the file system) is shown, and the app goes
        on; anything else is a bug, raised again for Textual to end the app with its trace."""
        if not isinstance(message.error, REFUSALS):
            raise message.error
        self.show_refusal(message.error)

    def show_refusal(self, error: BaseException, title: str = "Not done") -> None:
        self.notify(refusal_text(error), title=title, severity="error", timeout=12)

    def apply(self, outcome: Outcome) -> None:
        with contextlib.suppress(NoMatches):  # the screens are gone: the app is closing
            self.main.apply(outcome)
        if outcome.deleted is not None and isinstance(self.screen, JobDetailScreen) \
                and self.screen.job.jobid == outcome.deleted:
            self.screen.dismiss()
        if outcome.refresh:
            self.refresh_data()

    # -- the refresh loop -------------------------------------------------------------------
    @work(exclusive=True, group="refresh", exit_on_error=False)
    async def refresh_data(self) -> None:
        if self._timer is not None:
            self._timer.stop()
        source, closing = self.source, False
        try:
            self.show(await source.refresh())
            if source.view.connected and source.usual_due():
                self.read_usual()
            if source.view.connected and source.http_due():
                self.read_http()
        except NoMatches:
            closing = True  # the screens are gone: the app is closing
        finally:  # re-armed even after an unexpected error, which is reported
            if not closing:
                self._arm(source)

    def _arm(self, source: Source) -> None:
        if source is self.source:  # not after a switch of profile
            if self._timer is not None:
                self._timer.stop()
            self._timer = self.set_timer(source.next_delay(), self.refresh_data)

    def show(self, view: View) -> None:
        """A view down to the main screen, in one call (and the detail screens told)."""
        if view.read_only != self._read_only:  # the server's say (a standby, say)
            self._read_only = view.read_only
            for screen in self.screen_stack:
                screen.refresh_bindings()
        self.main.show_view(view)
        for screen in self.screen_stack if view.connected else []:
            if isinstance(screen, JobDetailScreen):
                screen.on_data_refreshed()

    @work(exclusive=True, group="refresh", exit_on_error=False)
    async def restart_stream(self) -> None:
        table = self.main.runs_table
        stream = self.source.restart_stream(table.job_filter, table.status_filter)
        try:
            runs = RunsChange(replace=await stream.start())
            self.main.show_view(replace(self.source.view, runs=runs, changed=[], notice=None))
        finally:
            self._arm(self.source)  # the refresh it cancelled may never have begun
            self.main.show_runs_title()

    # Named: Textual would describe the worker by the repr of its arguments.
    @work(exclusive=True, group="usual", description="each job's usual lag and duration")
    async def read_usual(self) -> None:
        if (view := await self.source.read_usual()) is not None:
            with contextlib.suppress(NoMatches):  # the screens are gone: the app is closing
                self.main.show_view(view)

    @work(exclusive=True, group="http", description="pg_net's answers to HTTP runs")
    async def read_http(self) -> None:
        with contextlib.suppress(NoMatches):
            if (view := await self.source.read_http(self.main.runs_table.runs.values())):
                self.main.show_view(view)

    def observe(self, facts: ServerFacts) -> ServerFacts:
        """The facts as the screen will use them; snapshot tests pin the clock here."""
        return facts

    # -- what screens ask -----------------------------------------------------------------
    @property
    def main(self) -> MainScreen:
        for screen in self.screen_stack:
            if isinstance(screen, MainScreen):
                return screen
        raise NoMatches("no main screen")

    def open_detail(self, jobid: int) -> None:
        if (job := self.job_by_id(jobid)) is not None:
            self.push_screen(JobDetailScreen(job))
