"""What the main and detail screens share: the actions on a job, bound to keys by id.

Read-only mode is enforced here, in `check_action`: a mutating action is then absent
from the footer, the help screen and the command palette, and cannot run.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding
from textual.screen import Screen

from tui.models import Job

if TYPE_CHECKING:
    from tui.app import CronJobsApp

MUTATING = frozenset({"trigger", "pause", "edit", "new", "delete", "cancel_run", "send_http",
                      "maintenance"})

JOB_BINDINGS = [
    Binding("t", "trigger", "Trigger", id="trigger"),
    Binding("s", "pause", "Pause/Resume", id="pause"),
    Binding("e", "edit", "Edit", id="edit"),
    Binding("n", "new", "New", id="new"),
    Binding("d", "delete", "Delete", id="delete"),
    Binding("x", "cancel_run", "Cancel a run", id="cancel_run", show=False),
    Binding("h", "send_http", "Send HTTP", id="send_http"),
    Binding("c", "copy", "Copy command", id="copy", show=False),
    Binding("r", "refresh", "Refresh", id="refresh"),
    Binding("a", "audit", "Audit log", id="audit", show=False),
    Binding("m", "maintenance", "Maintenance", id="maintenance", show=False),
    Binding("exclamation_mark", "doctor", "Doctor", id="doctor", show=False, key_display="!"),
    Binding("w", "timeline", "What will run", id="timeline", show=False),
    Binding("question_mark", "help", "Help", id="help", key_display="?"),
    Binding("q", "quit", "Quit", id="quit"),
]


class OperatorScreen(Screen):
    BINDINGS = JOB_BINDINGS

    @property
    def operator(self) -> CronJobsApp:
        return self.app  # type: ignore[return-value]

    def selected_job(self) -> Job | None:
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING and self.operator.read_only:
            return False
        return True

    def _with_job(self) -> Job | None:
        job = self.selected_job()
        if job is None:
            self.notify("No job selected", severity="warning")
        return job

    def action_trigger(self) -> None:
        if job := self._with_job():
            self.operator.trigger_job(job)

    def action_pause(self) -> None:
        if job := self._with_job():
            self.operator.pause_or_resume(job.jobid)

    def action_edit(self) -> None:
        if job := self._with_job():
            self.operator.edit_job(job.jobid)

    def action_new(self) -> None:
        self.operator.new_job()

    def action_delete(self) -> None:
        if job := self._with_job():
            self.operator.delete_job(job.jobid)

    def action_cancel_run(self) -> None:
        if job := self._with_job():
            self.operator.cancel_manual_run(job.jobid)

    def action_send_http(self) -> None:
        from tui.screens.http import send_http_action

        send_http_action(self)

    def action_copy(self) -> None:
        if job := self._with_job():
            self.operator.copy_command(job)

    def action_refresh(self) -> None:
        self.operator.refresh_data()

    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        self.app.push_screen(HelpScreen(self.active_bindings_list()))

    def action_maintenance(self) -> None:
        from tui.screens.maintenance import MaintenanceScreen

        self.app.push_screen(MaintenanceScreen())

    def action_audit(self) -> None:
        from tui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen(self.operator.audit, self.operator.audit_server))

    def action_doctor(self) -> None:
        from tui.screens.doctor import DoctorScreen

        self.app.push_screen(DoctorScreen(self.operator.db))

    def action_timeline(self) -> None:
        from tui.screens.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.operator.db))

    def action_quit(self) -> None:
        self.app.exit()

    def active_bindings_list(self) -> list[Binding]:
        """This screen's bindings that may run now (the same filter as the footer)."""
        found: list[Binding] = []
        for cls in reversed(type(self).__mro__):
            found += [b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]
        return [b for b in found if self.check_action(b.action, ()) is not False]
