"""`e` and `n`: a job's schedule (checked as you type), command, database and user.

The form stays open until the server has accepted the change, so a refusal, a lost
connection or a conflict never throws away what the operator typed.

What the job holds is shown as every other view shows it: control characters escaped (the
inert rule) and secrets masked, so a screen shared on an incident call shows no credential.
`Ctrl+R` reveals the secrets (and hides them again). A field left as it was is saved as
the job holds it, byte for byte; a field the operator changed is saved as typed, with each
mask put back to the secret it stands for. A command whose masks no longer line up with
its secrets (one deleted, or one typed) is refused rather than saved with a mask in it.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static, TextArea

from tui import format as fmt
from tui.cron import check, describe, next_runs, zone_problem
from tui.db import DatabaseError
from tui.masking import MASK, secret_spans
from tui.models import Job, ServerFacts
from tui.text import inert, one_line
from tui.ui.messages import FailuresGoUp, Outcome
from tui.ui.services import operator_of
from tui.ui.widgets.footer import KeyFooter

#: Wait this long after the last key before asking the server about the schedule.
SERVER_CHECK_DELAY_S = 0.4
#: Spaces Ctrl+T inserts in the command (Tab moves to the next field).
INDENT = "    "


@dataclass(frozen=True)
class JobForm:
    """What the operator asked for; None where a field is left as it was."""

    name: str | None
    schedule: str
    command: str
    database: str
    username: str


class MaskedText:
    """A command shown with its secrets masked, and the way back to the real text.

    `values` holds, in order, what each mask in the shown text stands for (a mask the text
    already held stands for itself)."""

    def __init__(self, real: str):
        shown: list[str] = []
        self.values: list[str] = []
        at = 0
        for start, end in secret_spans(real):
            self._plain(real[at:start], shown)
            shown.append(MASK)
            self.values.append(real[start:end])
            at = end
        self._plain(real[at:], shown)
        self.shown = "".join(shown)

    def _plain(self, piece: str, shown: list[str]) -> None:
        shown.append(piece)
        self.values.extend([MASK] * piece.count(MASK))

    def unmask(self, edited: str) -> str | None:
        """The edited text with each mask back to its secret; None when the masks no longer
        match the secrets one for one."""
        pieces = edited.split(MASK)
        if len(pieces) - 1 != len(self.values):
            return None
        out = [pieces[0]]
        for value, piece in zip(self.values, pieces[1:]):
            out += [value, piece]
        return "".join(out)


def schedule_placeholder(facts: ServerFacts) -> str:
    """Examples of schedules this server accepts: seconds only from pg_cron 1.5."""
    version = facts.pg_cron_grammar or facts.pg_cron_minor or "1.6"
    examples = ["* * * * *", "@daily"]
    if check("30 seconds", version).valid:
        examples.append("30 seconds")
    return "  |  ".join(examples)


class JobFormScreen(FailuresGoUp, ModalScreen[Outcome | None]):
    DEFAULT_CSS = """
    JobFormScreen { align: center middle; }
    JobFormScreen > VerticalScroll {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    JobFormScreen Label { margin-top: 1; text-style: bold; }
    JobFormScreen #verdict { height: auto; min-height: 1; }
    JobFormScreen #server-verdict { height: 1; }
    JobFormScreen #command-help { color: $text-muted; height: auto; }
    JobFormScreen TextArea { height: 8; }
    JobFormScreen .row { height: auto; }
    JobFormScreen .row Vertical { width: 1fr; height: auto; }
    JobFormScreen .buttons { height: auto; align-horizontal: right; margin: 1 0 0 0; }
    JobFormScreen Button { margin-left: 2; }
    JobFormScreen #error { color: $error; height: auto; }
    /* Notifications at the top: at the bottom they would cover Save and Cancel. */
    JobFormScreen ToastRack { dock: top; align: right top; margin: 0; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
        Binding("ctrl+r", "reveal", "Reveal secrets", id="form.reveal"),
        Binding("ctrl+t", "indent", "Indent", id="form.indent"),
        Binding("f1", "help", "Help", id="form.help"),
    ]

    def __init__(self, facts: ServerFacts, job: Job | None = None):
        super().__init__()
        self.facts = facts
        self.job = job
        self._server_timer: Timer | None = None
        self.local_ok = job is not None
        # What each field showed when the form opened: a field still showing it is saved
        # as the job holds it.
        self.shown_schedule = one_line(job.schedule) if job else ""
        self.shown_database = one_line(job.database if job else facts.database)
        self.shown_username = one_line(job.username if job else facts.current_user)
        # CRLF line ends shown as plain ones (a CR before LF changes nothing in SQL); any
        # other control character is shown as its escape.
        self.initial_command = inert(job.command.replace("\r\n", "\n")) if job else ""
        self.masked: MaskedText | None = MaskedText(self.initial_command)
        if not self.masked.values:
            self.masked = None  # nothing to hide
        self.has_secrets = self.masked is not None
        self.error_cause: str | None = None  # which check the shown error is about
        self._confirming = False

    def compose(self) -> ComposeResult:
        job = self.job
        with VerticalScroll():
            title = Text("Edit ", style="bold") if job else Text("New job", style="bold")
            if job:
                title.append(one_line(job.label, 80))
            yield Static(title)
            if job is None:
                yield Label("Name")
                yield Input(placeholder="e.g. nightly-vacuum", id="name", max_length=200)
            yield Label("Schedule")
            yield Input(self.shown_schedule, id="schedule",
                        placeholder=schedule_placeholder(self.facts), max_length=999)
            yield Static(id="verdict", markup=False)
            yield Static(id="server-verdict", markup=False)
            yield Label("Command (SQL)")
            command = self.masked.shown if self.masked else self.initial_command
            yield TextArea.code_editor(command, language="sql", id="command", soft_wrap=True,
                                       tab_behavior="focus")
            yield Static(self._command_help(), id="command-help", markup=False)
            with Horizontal(classes="row"):
                with Vertical():
                    yield Label("Database")
                    yield Input(self.shown_database, id="database", placeholder="database")
                with Vertical():
                    yield Label("Run as role")
                    yield Input(self.shown_username, id="username", placeholder="run as role",
                                disabled=not self.facts.is_superuser)
            yield Static(id="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")
        yield KeyFooter()

    def _command_help(self) -> str:
        parts = ["Tab: next field", "Ctrl+T: indent"]
        if self.masked is not None:
            parts.append("secrets masked (Ctrl+R shows them)")
        elif self.has_secrets:
            parts.append("secrets shown (Ctrl+R masks them)")
        return " · ".join(parts)

    def on_mount(self) -> None:
        self.query_one("#name" if self.job is None else "#schedule", Input).focus()
        self._local_check(self.query_one("#schedule", Input).value)

    # -- validation as you type -------------------------------------------
    def _schedule_changed(self, value: str) -> None:
        self._local_check(value)
        if self._server_timer is not None:
            self._server_timer.stop()
        self.query_one("#server-verdict", Static).update("")
        if self.local_ok and not operator_of(self).read_only:
            self._server_timer = self.set_timer(SERVER_CHECK_DELAY_S,
                                                lambda: self._server_check(value))

    def _local_check(self, expr: str) -> None:
        facts = self.facts
        version = facts.pg_cron_grammar or "1.6"
        verdict = check(expr, version)
        self.local_ok = verdict.valid
        text = Text()
        if not expr.strip():
            text.append("a schedule is needed", style="dim")
        elif not verdict.valid:
            text.append(verdict.error or "invalid schedule", style="bold red")
            if verdict.hint:
                text.append(f"\n{verdict.hint}", style="yellow")
        else:
            text.append(describe(expr, version), style="green")
            tz = facts.scheduler_timezone
            if tz and (problem := zone_problem(tz)) is not None:
                text.append(f"\nnext runs unknown: cron.timezone is an {problem}", style="dim")
            elif tz:
                runs = next_runs(expr, facts.now, tz, 5, version=version)
                if runs:
                    text.append(f"\nnext ({tz}): ")
                    text.append(", ".join(fmt.absolute(r, tz) for r in runs), style="dim")
            else:
                text.append("\nnext runs unknown: the scheduler's time zone is unreadable",
                            style="dim")
            for warning in verdict.warnings:
                text.append(f"\n⚠ {warning}", style="yellow")
        self.query_one("#verdict", Static).update(text)

    @work(exclusive=True, group="form-server-check", exit_on_error=False)
    async def _server_check(self, expr: str) -> None:
        from tui.db.actions import check_schedule

        if not self.is_attached:
            return  # saved or closed before the timer fired
        widget = self.query_one("#server-verdict", Static)
        try:
            problem = await check_schedule(operator_of(self).db, expr)
        except DatabaseError as exc:
            if self.is_attached:
                widget.update(Text(f"server check unavailable: {exc}", style="dim"))
            return
        if not self.is_attached or self.query_one("#schedule", Input).value != expr:
            return  # closed, or typed on meanwhile
        if problem:
            widget.update(Text(f"server: {problem}", style="bold red"))
        else:
            widget.update(Text("server: accepted", style="green"))

    # -- secrets and indenting ----------------------------------------------
    def real_command(self) -> str | None:
        """The command as it would be saved (masks back to their secrets), or None when
        the masks no longer match the secrets."""
        text = self.query_one("#command", TextArea).text
        return self.masked.unmask(text) if self.masked is not None else text

    def action_reveal(self) -> None:
        area = self.query_one("#command", TextArea)
        real = self.real_command()
        if real is None:
            self.show_error("A mask was deleted or typed in the command, so the secrets can "
                            "no longer be put back: undo (Ctrl+Z) that change.", "masks")
            return
        if self.masked is not None:
            self.masked = None
            area.load_text(real)
        else:
            masked = MaskedText(real)
            self.masked = masked if masked.values else None
            self.has_secrets = self.masked is not None
            area.load_text(masked.shown)
        self.query_one("#command-help", Static).update(self._command_help())

    def action_help(self) -> None:
        from tui.ui.screens.help import HelpScreen, screen_keys

        self.app.push_screen(HelpScreen(screen_keys(self), title="Keys of the edit form"))

    def action_indent(self) -> None:
        area = self.query_one("#command", TextArea)
        if self.focused is area:
            start, end = area.selection
            area.replace(INDENT, start, end)

    # -- saving -----------------------------------------------------------
    def form(self) -> JobForm | None:
        """What to save: fields left as shown are the job's own; None when the command's
        masks no longer line up with its secrets."""
        job = self.job
        name = self.query_one("#name", Input).value.strip() if job is None else None
        command = self.real_command()
        if command is None:
            return None
        if job is not None and command == self.initial_command:
            command = job.command

        def field(widget_id: str, shown: str, real: str | None) -> str:
            value = self.query_one(f"#{widget_id}", Input).value
            if job is not None and value == shown and real is not None:
                return real
            return value.strip()

        return JobForm(
            name=name,
            schedule=field("schedule", self.shown_schedule, job.schedule if job else None),
            command=command,
            database=field("database", self.shown_database, job.database if job else None),
            username=field("username", self.shown_username, job.username if job else None),
        )

    def changed(self) -> bool:
        """Whether the operator changed anything since the form opened."""
        if self.job is None and self.query_one("#name", Input).value.strip():
            return True
        command = self.real_command()
        return (command is None or command != self.initial_command
                or self.query_one("#schedule", Input).value != self.shown_schedule
                or self.query_one("#database", Input).value != self.shown_database
                or self.query_one("#username", Input).value != self.shown_username)

    def show_error(self, message: str | None, cause: str | None = None) -> None:
        self.error_cause = cause if message else None
        self.query_one("#error", Static).update(message or "")

    def _error_fixed(self) -> bool:
        cause = self.error_cause
        if cause == "name":
            return bool(self.query_one("#name", Input).value.strip())
        if cause == "command":
            command = self.real_command()
            return command is None or bool(command.strip())
        if cause == "schedule":
            return self.local_ok
        if cause == "masks":
            return self.real_command() is not None
        return False  # the server's refusal: it stays until the next save

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "schedule":
            self._schedule_changed(event.value)
        if self.error_cause and self._error_fixed():
            self.show_error(None)

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        if self.error_cause and self._error_fixed():
            self.show_error(None)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        form = self.form()
        if form is None:
            self.show_error("A mask was deleted or typed in the command, so the secrets can "
                            "no longer be put back: undo (Ctrl+Z) that change, or Ctrl+R "
                            "to show the secrets before editing them.", "masks")
            return
        if self.job is None and not form.name:
            self.show_error("A job needs a name.", "name")
            return
        if not form.command.strip():
            self.show_error("The command is empty: pg_cron would run nothing.", "command")
            return
        if not self.local_ok:
            self.show_error("Fix the schedule first.", "schedule")
            return
        self.show_error(None)
        operator_of(self).job_actions.save(self, form)

    @work(exclusive=True, group="form-cancel", exit_on_error=False)
    async def action_cancel(self) -> None:
        if not self.changed():
            self.dismiss(None)
            return
        if self._confirming:
            return
        from tui.ui.screens.confirm import ConfirmScreen

        what = f"your changes to {one_line(self.job.label, 60)}" if self.job else "this new job"
        self._confirming = True
        try:
            discard = await self.app.push_screen_wait(
                ConfirmScreen(f"Discard {what}? Nothing has been saved.", "Discard",
                              danger=True, cancel="Keep editing"))
        finally:
            self._confirming = False
        if discard:
            self.dismiss(None)
