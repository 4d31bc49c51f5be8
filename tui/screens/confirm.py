"""Dialogs that ask before anything is changed. Cancel always has the focus."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

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
                 danger: bool = False):
        super().__init__()
        self.question = question
        self.confirm_label = confirm
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm",
                             variant="error" if self.danger else "primary")

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
            yield Static(self.question, classes="question", markup=False)
            yield Input(placeholder=f"type {self.expected} to confirm", id="typed")
            with Horizontal(classes="buttons"):
                yield Button("Cancel", id="cancel")
                yield Button(self.confirm_label, id="confirm", variant="error", disabled=True)

    def on_mount(self) -> None:
        self.query_one("#cancel", Button).focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#confirm", Button).disabled = event.value != self.expected

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.value == self.expected:
            self.dismiss(True)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm"
                     and self.query_one("#typed", Input).value == self.expected)

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
            yield Static(Text(self.title_text, style="bold"), markup=False)
            yield Static(self.body, classes="question", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("OK", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#ok", Button).focus()

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)
