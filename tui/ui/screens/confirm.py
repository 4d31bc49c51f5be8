"""Dialogs that ask before anything is changed. Cancel always has the focus."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

if TYPE_CHECKING:
    from tui.db.actions import RunPlan

from tui.text import as_text, inert, one_line
from tui.ui.widgets.footer import KeyFooter

DIALOG_CSS = """
{name} { align: center middle; }
{name} > Vertical {
    width: 72; max-width: 100%; height: auto; max-height: 100%;
    border: thick $accent; background: $surface; padding: 1 2;
}
{name} .buttons { height: auto; margin-top: 1; align-horizontal: right; }
{name} Button { margin-left: 2; }
{name} .question { height: auto; }
"""


class ConfirmScreen(ModalScreen[bool]):
    """Yes or no; Escape and the focused Cancel both mean no."""

    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "ConfirmScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, question: str | Text, confirm: str = "Confirm", *,
                 danger: bool = False, cancel: str = "Cancel"):
        super().__init__()
        self.question = question
        self.confirm_label = confirm
        self.cancel_label = cancel
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(as_text(self.question), classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button(self.cancel_label, id="cancel")
                yield Button(self.confirm_label, id="confirm",
                             variant="error" if self.danger else "primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def action_cancel(self) -> None:
        self.dismiss(False)


class TypeNameScreen(ModalScreen[bool]):
    """For what cannot be undone: the job's name must be typed before the button works."""

    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "TypeNameScreen")
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, question: str, name: str, confirm: str = "Delete"):
        super().__init__()
        self.question = question
        self.expected = name
        self.confirm_label = confirm

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(as_text(self.question), classes="question", markup=False)
            yield Input(placeholder=f"type {one_line(self.expected, 40)} to confirm", id="typed")
            yield Static("", id="mismatch", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error", disabled=True)
        yield KeyFooter()

    def on_mount(self) -> None:
        # The dialog asks for typing: the name field has focus, Cancel is one Tab away, and
        # the button that deletes stays disabled until the name is right.
        self.query_one("#typed", Input).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = not self.typed_right(event.value)
        on_track = any(form.startswith(event.value)
                       for form in (self.expected, one_line(self.expected)))
        self._say("" if on_track else self._mismatch(event.value))

    def _mismatch(self, typed: str) -> str:
        return (f"'{one_line(typed, 40)}' does not match the name "
                f"'{one_line(self.expected, 40)}'")

    def _say(self, message: str) -> None:
        self.query_one("#mismatch", Static).update(Text(message, style="bold red"))

    def typed_right(self, typed: str) -> bool:
        """The name, or as it is shown (a name holding control characters cannot be typed
        as it is: `\\x1b` typed stands for the ESC shown)."""
        return typed in (self.expected, one_line(self.expected))

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if self.typed_right(event.value):
            self.dismiss(True)
        else:  # Enter on a wrong name: say so, and stay (nothing is deleted)
            self._say(self._mismatch(event.value) + ": nothing deleted; Esc cancels")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm"
                     and self.typed_right(self.query_one("#typed", Input).value))

    def action_cancel(self) -> None:
        self.dismiss(False)


class MessageScreen(ModalScreen[None]):
    """Something the operator must read (a conflict, a refusal) before going on."""

    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "MessageScreen")
    BINDINGS = [Binding("escape", "close", "Close", id="dialog.close")]

    def __init__(self, title: str, body: str | Text):
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(one_line(self.title_text), style="bold"), markup=False)
            yield Static(as_text(self.body), classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)


@dataclass(frozen=True)
class RunChoice:
    """The operator's answer to RunNowScreen: run, with this time limit (None: none beyond
    the server's own statement_timeout)."""

    timeout_ms: int | None


#: How much of a command the "run now" confirmation shows.
COMMAND_LINES = 6


class RunNowScreen(ModalScreen["RunChoice | None"]):
    """Before a manual run: the job as it is now, any run of it in progress, where it runs,
    and the time limit, chosen here (empty: none beyond the server's own). Cancel focused."""

    DEFAULT_CSS = DIALOG_CSS.replace("{name}", "RunNowScreen") + """
    RunNowScreen .limit { height: auto; margin-top: 1; }
    RunNowScreen .limit Static { width: auto; margin-top: 1; }
    RunNowScreen #limit { width: 16; }
    RunNowScreen #limit-text { height: auto; }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, plan: RunPlan, here: int = 0):
        super().__init__()
        self.plan = plan
        self.here = here  # manual runs of this job from this app, still going
        self.chosen_limit: int | None | bool = None  # as _limit_ms reads the field
        self.answered = False

    def question(self) -> Text:
        from tui.masking import mask

        job = self.plan.job
        text = Text()
        text.append(f"Run {one_line(job.label, 60)} now?\n", style="bold")
        # The command as it reads, a few lines of it: inert keeps its newlines and escapes the
        # rest, and `Text` keeps markup out.
        lines = inert(mask(job.command)).expandtabs(4).splitlines() or [""]
        for line in lines[:COMMAND_LINES]:
            text.append(f"  {line[:200]}{'…' if len(line) > 200 else ''}\n", style="dim")
        if len(lines) > COMMAND_LINES:
            text.append(f"  … {len(lines) - COMMAND_LINES} more line(s)\n", style="dim")
        text.append(f"as {one_line(job.username, 40)} in database {one_line(job.database, 40)}"
                    f", on {one_line(self.plan.target.where, 120)}; recorded in "
                    "cron.job_run_details when this role may write there.\n")
        for run in self.plan.running:
            text.append(f"\n{run.describe()} is in progress: ", style="bold red")
            text.append("pg_cron never runs a job twice at once; running it now overlaps it.")
        if self.here and not any(r.manual for r in self.plan.running):
            # Ours, not in the run history (this role may not write it).
            text.append(f"\n{self.here} manual run(s) of it from here in progress (not "
                        "recorded): ", style="bold red")
            text.append("running it now overlaps them.")
        return text

    @property
    def overlap(self) -> bool:
        return bool(self.plan.running) or self.here > 0

    def compose(self) -> ComposeResult:
        overlap = self.overlap
        with Vertical():
            yield Static(self.question(), classes="question", markup=False)
            with Horizontal(classes="limit"):
                yield Static("Time limit in seconds: ", markup=False)
                yield Input("", id="limit", placeholder="none", type="number")
            yield Static(self._limit_text(None), id="limit-text", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Run anyway" if overlap else "Run", id="confirm",
                             variant="error" if overlap else "primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def _limit_ms(self) -> int | None | bool:
        """The chosen limit in ms, None for none, False when the text is not a limit."""
        raw = self.query_one("#limit", Input).value.strip()
        if not raw:
            return None
        try:
            seconds = float(raw)
        except ValueError:
            return False
        if not 0 < seconds <= 7 * 86400:
            return False
        return max(int(seconds * 1000), 1)

    @staticmethod
    def _limit_text(limit: int | None | bool) -> str:
        if limit is False:
            return "The limit must be a number of seconds above 0 (empty: no limit)."
        if limit is None:
            return ("Time limit: none beyond the server's own statement_timeout (the job's "
                    "role and database settings, as under pg_cron).")
        return (f"Time limit: {limit / 1000:g} s (statement_timeout for this run only); the "
                "run is cancelled and recorded failed after that.")

    def on_input_changed(self, _event: Input.Changed) -> None:
        self.chosen_limit = limit = self._limit_ms()
        self.query_one("#limit-text", Static).update(self._limit_text(limit))
        self.query_one("#confirm", Button).disabled = limit is False

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self.query_one("#cancel", Button).focus()  # Enter in the field never runs the job

    def on_button_pressed(self, event: Button.Pressed) -> None:
        limit = self.chosen_limit
        if event.button.id == "confirm" and limit is not False:
            self._answer(RunChoice(limit if isinstance(limit, int) else None))
        else:
            self._answer(None)

    def _answer(self, choice: RunChoice | None) -> None:
        # A second press queued before the first one closed the dialog is ignored.
        if not self.answered:
            self.answered = True
            self.dismiss(choice)

    def action_cancel(self) -> None:
        self._answer(None)
