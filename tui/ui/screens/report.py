"""A modal report on the server (the doctor, the timeline): a title, a body made by queries,
r to make it again, Esc to close."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static
from textual.worker import Worker

from tui.db import Database
from tui.ui.messages import FailuresGoUp
from tui.ui.widgets.footer import KeyFooter


class ReportScreen(FailuresGoUp, ModalScreen[None]):
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
        """`db`: a session of the screen's own (Database.apart()), closed with the screen:
        a long report never queues the refresh behind it."""
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self.heading, style="bold"))
            yield Static(self.waiting, id=self.body_id, markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.action_reload()

    def on_unmount(self) -> None:
        # The screen's workers are cancelled as it goes: its session closes once they let go.
        self.app.run_worker(self.db.close_when_idle(), group="close", exit_on_error=False)

    @property
    def body(self) -> Static:
        return self.query_one(f"#{self.body_id}", Static)

    def action_reload(self) -> Worker[None]:
        """Make the body (a worker: the screen answers keys meanwhile)."""
        raise NotImplementedError
