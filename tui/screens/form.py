"""`e` and `n`: a job's schedule (checked as you type), command, database and user.

The form stays open until the server has accepted the change, so a refusal, a lost
connection or a conflict never throws away what the operator typed.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import ModalScreen
from textual.timer import Timer
from textual.widgets import Button, Input, Label, Static, TextArea

from tui import format as fmt
from tui.cron import check, describe, next_runs
from tui.db import DatabaseError
from tui.models import Job, ServerFacts

#: Wait this long after the last key before asking the server about the schedule.
SERVER_CHECK_DELAY_S = 0.4


@dataclass(frozen=True)
class JobForm:
    """What the operator asked for; None where a field is left as it was."""

    name: str | None
    schedule: str
    command: str
    database: str
    username: str


class JobFormScreen(ModalScreen[bool]):
    DEFAULT_CSS = """
    JobFormScreen { align: center middle; }
    JobFormScreen > VerticalScroll {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    JobFormScreen Label { margin-top: 1; text-style: bold; }
    JobFormScreen #verdict { height: auto; min-height: 1; }
    JobFormScreen #server-verdict { height: 1; }
    JobFormScreen TextArea { height: 8; }
    JobFormScreen .row { height: auto; }
    JobFormScreen .row Input { width: 1fr; }
    JobFormScreen .buttons { height: auto; align-horizontal: right; margin: 1 0 0 0; }
    JobFormScreen Button { margin-left: 2; }
    JobFormScreen #error { color: $error; height: auto; }
    """
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "save", "Save", id="form.save"),
    ]

    def __init__(self, facts: ServerFacts, job: Job | None = None):
        super().__init__()
        self.facts = facts
        self.job = job
        self._server_timer: Timer | None = None
        self.local_ok = job is not None

    def compose(self) -> ComposeResult:
        job = self.job
        with VerticalScroll():
            yield Static(Text(f"Edit {job.label}" if job else "New job", style="bold"))
            if job is None:
                yield Label("Name")
                yield Input(placeholder="e.g. nightly-vacuum", id="name", max_length=200)
            yield Label("Schedule")
            yield Input(job.schedule if job else "", id="schedule",
                        placeholder="* * * * *  |  @daily  |  30 seconds", max_length=999)
            yield Static(id="verdict", markup=False)
            yield Static(id="server-verdict", markup=False)
            yield Label("Command (SQL)")
            yield TextArea.code_editor(job.command if job else "", language="sql",
                                       id="command", soft_wrap=True)
            with Horizontal(classes="row"):
                yield Input(job.database if job else self.facts.database, id="database",
                            placeholder="database")
                yield Input(job.username if job else self.facts.current_user, id="username",
                            placeholder="run as role",
                            disabled=not self.facts.is_superuser)
            yield Static(id="error", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Save", id="save", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name" if self.job is None else "#schedule", Input).focus()
        self._local_check(self.query_one("#schedule", Input).value)

    # -- validation as you type -------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id != "schedule":
            return
        self._local_check(event.value)
        if self._server_timer is not None:
            self._server_timer.stop()
        self.query_one("#server-verdict", Static).update("")
        if self.local_ok and not self.app.read_only:  # type: ignore[attr-defined]
            self._server_timer = self.set_timer(SERVER_CHECK_DELAY_S,
                                                lambda: self._server_check(event.value))

    def _local_check(self, expr: str) -> None:
        facts = self.facts
        version = facts.pg_cron_minor or "1.6"
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
            text.append(describe(expr), style="green")
            tz = facts.scheduler_timezone
            if tz:
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

    @work(exclusive=True, group="form-server-check")
    async def _server_check(self, expr: str) -> None:
        from tui.db.actions import check_schedule

        widget = self.query_one("#server-verdict", Static)
        try:
            problem = await check_schedule(self.app.db, expr)  # type: ignore[attr-defined]
        except DatabaseError as exc:
            widget.update(Text(f"server check unavailable: {exc}", style="dim"))
            return
        if self.query_one("#schedule", Input).value != expr:
            return  # typed on meanwhile
        if problem:
            widget.update(Text(f"server: {problem}", style="bold red"))
        else:
            widget.update(Text("server: accepted", style="green"))

    # -- saving -----------------------------------------------------------
    def form(self) -> JobForm:
        name = self.query_one("#name", Input).value.strip() if self.job is None else None
        return JobForm(
            name=name,
            schedule=self.query_one("#schedule", Input).value.strip(),
            command=self.query_one("#command", TextArea).text,
            database=self.query_one("#database", Input).value.strip(),
            username=self.query_one("#username", Input).value.strip(),
        )

    def show_error(self, message: str | None) -> None:
        self.query_one("#error", Static).update(message or "")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_save(self) -> None:
        form = self.form()
        if self.job is None and not form.name:
            self.show_error("A job needs a name.")
            return
        if not form.command.strip():
            self.show_error("The command is empty: pg_cron would run nothing.")
            return
        if not self.local_ok:
            self.show_error("Fix the schedule first.")
            return
        self.show_error(None)
        self.app.save_job(self, form)  # type: ignore[attr-defined]

    def action_cancel(self) -> None:
        self.dismiss(False)
