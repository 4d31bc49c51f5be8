"""The main screen: the jobs table above, the live run stream below."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.widgets.header import ServerHeader
from tui.widgets.jobs import JobsTable
from tui.widgets.runs import RunsTable


class MainScreen(Screen):
    DEFAULT_CSS = """
    MainScreen .title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    MainScreen #jobs-pane { height: 1fr; }
    MainScreen #runs-pane { height: 1fr; }
    MainScreen #banner { height: auto; display: none; background: $error; padding: 0 1; }
    MainScreen #banner.shown { display: block; }
    """

    def compose(self) -> ComposeResult:
        yield ServerHeader(id="header")
        yield Static(id="banner")
        with Vertical(id="jobs-pane"):
            yield Static("Jobs", id="jobs-title", classes="title")
            yield JobsTable(id="jobs")
        with Vertical(id="runs-pane"):
            yield Static("Runs", id="runs-title", classes="title")
            yield RunsTable(id="runs")
        yield Footer()

    def banner(self, message: str | None) -> None:
        widget = self.query_one("#banner", Static)
        widget.update(message or "")
        widget.set_class(bool(message), "shown")
