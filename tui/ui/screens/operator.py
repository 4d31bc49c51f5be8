"""What the main and detail screens share: the actions on a job, bound to keys by id.

Read-only mode is enforced here, in `check_action`: a mutating action is then absent
from the footer, the help screen and the command palette, and cannot run.
"""

from __future__ import annotations

from textual.binding import Binding, BindingType
from textual.screen import Screen

from tui.models import Job
from tui.ui.messages import FailuresGoUp
from tui.ui.services import Operator, operator_of

MUTATING = frozenset({"trigger", "pause", "edit", "new", "delete", "cancel_run", "send_http",
                      "maintenance"})

JOB_BINDINGS: list[BindingType] = [
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


class OperatorScreen(FailuresGoUp, Screen):
    BINDINGS = JOB_BINDINGS

    @property
    def operator(self) -> Operator:
        return operator_of(self)

    def selected_job(self) -> Job | None:
        raise NotImplementedError

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in MUTATING and self.operator.read_only:
            return False
        return True

    def with_job(self) -> Job | None:
        """The selected job, or None after saying that none is."""
        job = self.selected_job()
        if job is None:
            self.notify("No job selected", severity="warning")
        return job

    def action_trigger(self) -> None:
        if job := self.with_job():
            self.operator.job_actions.trigger(job)

    def action_pause(self) -> None:
        if job := self.with_job():
            self.operator.job_actions.pause_or_resume(job.jobid)

    def action_edit(self) -> None:
        if job := self.with_job():
            self.operator.job_actions.edit(job.jobid)

    def action_new(self) -> None:
        self.operator.job_actions.new()

    def action_delete(self) -> None:
        if job := self.with_job():
            self.operator.job_actions.delete(job.jobid)

    def action_cancel_run(self) -> None:
        if job := self.with_job():
            self.operator.job_actions.cancel_run(job.jobid)

    def action_send_http(self) -> None:
        from tui.ui.screens.http import open_http

        if job := self.with_job():
            open_http(self, job)

    def action_copy(self) -> None:
        if job := self.with_job():
            self.operator.job_actions.copy_command(job)

    def action_refresh(self) -> None:
        self.operator.refresh_data()

    def action_help(self) -> None:
        from tui.db.client import LOOKBACK_RUNS
        from tui.format import not_in_lookback
        from tui.insight.lag import RULE
        from tui.ui.screens.form import JobFormScreen
        from tui.ui.screens.help import HelpScreen, binding_rows, screen_keys

        searched = not_in_lookback(LOOKBACK_RUNS)
        notes = [
            f"Last run \"{searched}\" (\"{not_in_lookback(LOOKBACK_RUNS, short=True)}\" on "
            f"narrow screens): without a (jobid, runid) index only the newest "
            f"{LOOKBACK_RUNS:,} runs are searched for each job's last run, and none of that "
            "job's runs was among them: it ran before them, or never. Enter on it, then b, "
            "searches further back; m creates the index. \"never\" is said only when the "
            "whole history was searched.",
            f"{RULE} Start lag: start minus the time the schedule gave, in the scheduler's "
            "zone."]
        sections = [] if self.operator.read_only else [
            ("In the edit form (e, n; F1 there)", binding_rows(JobFormScreen.BINDINGS))]
        self.app.push_screen(HelpScreen(screen_keys(self), sections=sections, notes=notes))

    def action_maintenance(self) -> None:
        from tui.ui.screens.maintenance import MaintenanceScreen

        self.app.push_screen(MaintenanceScreen())

    def action_audit(self) -> None:
        from tui.ui.screens.audit import AuditScreen

        self.app.push_screen(AuditScreen(self.operator.audit, self.operator.audit_server))

    def action_doctor(self) -> None:
        from tui.ui.screens.doctor import DoctorScreen

        self.app.push_screen(DoctorScreen(self.operator.db.apart()))

    def action_timeline(self) -> None:
        from tui.ui.screens.timeline import TimelineScreen

        self.app.push_screen(TimelineScreen(self.operator.db.apart()))

    def action_quit(self) -> None:
        self.app.exit()

    def remapped_keys(self) -> dict[str, str]:
        """The keys the config file's [keys] gave, by binding id (as Textual applied them)."""
        by_id: dict[str, list[str]] = {}
        for key, active in self.active_bindings.items():
            if active.node is self and active.binding.id is not None:
                by_id.setdefault(active.binding.id, []).append(key)
        defaults = {b.id: b.key for cls in type(self).__mro__
                    for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)}
        return {bid: ",".join(keys) for bid, keys in by_id.items()
                if bid in defaults and keys != [defaults[bid]]}

    def active_bindings_list(self) -> list[Binding]:
        """This screen's bindings that may run now (the same filter as the footer)."""
        found: list[Binding] = []
        for cls in reversed(type(self).__mro__):
            found += [b for b in cls.__dict__.get("BINDINGS", []) if isinstance(b, Binding)]
        return [b for b in found if self.check_action(b.action, ()) is not False]
