"""A modal report on the server (the doctor, the timeline): a title, a body made by queries,
r to make it again, Esc to close."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.db import Database
from tui.ui.widgets.footer import KeyFooter


class ReportScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    ReportScreen { align: center middle; }
    ReportScreen > VerticalScroll {
        width: 110; max-width: 100%; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    heading = ""
    waiting = "reading…"
    body_id = "report"

    def __init__(self, db: Database):
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self.heading, style="bold"))
            yield Static(self.waiting, id=self.body_id, markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.action_reload()

    @property
    def body(self) -> Static:
        return self.query_one(f"#{self.body_id}", Static)

    def action_reload(self) -> None:
        """Make the body (a worker: the screen answers keys meanwhile)."""
        raise NotImplementedError
