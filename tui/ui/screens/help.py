"""`?`: every key that works here, with the id to remap it by in the config file."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.config import default_path
from tui.db.client import LOOKBACK_RUNS
from tui.format import not_in_lookback


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 76; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close", id="help.close")]

    def __init__(self, bindings: list[Binding], remapped: dict[str, str] | None = None):
        super().__init__()
        self.bindings = bindings
        self.remapped = remapped or {}  # binding id -> the keys [keys] gave it

    def compose(self) -> ComposeResult:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("Key")
        table.add_column("Does")
        table.add_column(Text("Id (for [keys])"), style="dim")
        for binding in self.bindings:
            key = self.remapped.get(binding.id or "", binding.key_display or binding.key)
            table.add_row(key, binding.description, binding.id or "")
        for key, does in [("Enter", "open the selected job"),
                          ("Tab", "move between panes"), ("Ctrl+P", "command palette")]:
            table.add_row(key, does, "")
        with VerticalScroll():
            yield Static(Text("Keys", style="bold"))
            yield Static(table)
            yield Static(Text(f"\nRemap keys in {default_path()}:\n  [keys]\n  trigger = \"T\"",
                              style="dim"))
            searched = not_in_lookback(LOOKBACK_RUNS)
            yield Static(Text(
                f"\nLast run \"{searched}\" (\"{not_in_lookback(LOOKBACK_RUNS, short=True)}\" "
                f"on narrow screens): without a (jobid, runid) index only the newest "
                f"{LOOKBACK_RUNS:,} runs are searched for each job's last run, and none of "
                "that job's runs was among them: it ran before them, or never. Enter on it, "
                "then b, searches further back; m creates the index. \"never\" is said only "
                "when the whole history was searched.", style="dim"))
            from tui.insight.lag import RULE

            yield Static(Text(f"\n{RULE} Start lag: start minus the time the schedule gave, "
                              "in the scheduler's zone.", style="dim"))
