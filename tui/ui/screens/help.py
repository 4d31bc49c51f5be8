"""`?` (F1 in the edit form): the keys that work on the screen shown, made from its bindings.

Read from the screen's active bindings at the moment help is asked for, so the list is the
keys that answer there: the focused widget's (a table's Home and End), the screen's (those
read-only mode or the job's kind leave out are absent), the app's; each key written as on a
keyboard (`>`, `Ctrl+C`, `Esc`), each action once, with the id to remap it by.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from tui.config import default_path
from tui.ui.widgets.footer import KeyFooter

#: Keys by their name in Textual, as printed on a keyboard.
NAMES = {
    "escape": "Esc", "enter": "Enter", "tab": "Tab", "space": "Space", "home": "Home",
    "end": "End", "pageup": "PgUp", "pagedown": "PgDn", "up": "↑", "down": "↓",
    "left": "←", "right": "→", "delete": "Del", "backspace": "Backspace", "insert": "Ins",
    "slash": "/", "question_mark": "?", "exclamation_mark": "!", "greater_than_sign": ">",
    "less_than_sign": "<", "full_stop": ".", "comma": ",", "minus": "-", "plus": "+",
}
#: Modifiers that the keyboards of an operator's terminal send (Cmd never reaches one).
MODIFIERS = {"ctrl": "Ctrl", "shift": "Shift", "alt": "Alt", "meta": "Meta"}


def key_name(key: str) -> str | None:
    """`ctrl+c` -> `Ctrl+C`, `greater_than_sign` -> `>`; None for a key no terminal sends
    (`super+c`: the Cmd key of a Mac stays with the terminal)."""
    *mods, last = key.split("+") if key != "+" else ["+"]
    if any(m not in MODIFIERS for m in mods):
        return None
    base = NAMES.get(last) or (last.upper() if mods and len(last) == 1 else last)
    if len(base) > 1 and base not in NAMES.values() and not base.startswith("F"):
        base = base.replace("_", " ").capitalize()
    return "+".join([*(MODIFIERS[m] for m in mods), base])


@dataclass(frozen=True)
class KeyRow:
    keys: str
    does: str
    id: str


def screen_keys(screen: Screen) -> list[KeyRow]:
    """The keys that work on `screen` now, one row per thing they do (its keys together:
    `q, Ctrl+Q  Quit`): the screen's first, then the focused widget's (moving in a table),
    then the app's. A key both bind does what the widget's binding says (it sees it first)."""
    rows: dict[str, tuple[list[str], Binding]] = {}
    order: dict[str, int] = {}
    for key, active in screen.active_bindings.items():
        binding = active.binding
        if not active.enabled or not binding.description:
            continue
        name = key_name(key)  # the key bound now ([keys] may have remapped it)
        if name is None:
            continue
        does = binding.description.lower()
        keys, _ = rows.setdefault(does, ([], binding))
        # The screen's own keys, then moving in the focused widget, then Textual's (Tab,
        # copy, the app's).
        ours = active.node is screen and binding.id is not None
        order.setdefault(does, 0 if ours else 2 if active.node in (screen, screen.app) else 1)
        if name not in keys:
            keys.append(name)
    ranked = sorted(rows, key=lambda does: order[does])  # stable: bindings' order within
    return [KeyRow(", ".join(rows[does][0]), rows[does][1].description, rows[does][1].id or "")
            for does in ranked]


def binding_rows(bindings: Iterable[object]) -> list[KeyRow]:
    """Rows for a screen not shown (the edit form, from the main screen's help)."""
    rows = []
    for binding in bindings:
        if not isinstance(binding, Binding):
            continue
        names = [n for k in binding.key.split(",") if (n := key_name(k.strip()))]
        rows.append(KeyRow(", ".join(names), binding.description, binding.id or ""))
    return rows


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 84; max-width: 100%; height: auto; max-height: 90%;
        border: thick $accent; background: $surface; padding: 1 2;
    }
    """
    BINDINGS = [Binding("escape,question_mark,q,f1", "dismiss", "Close", id="help.close")]

    def __init__(self, rows: list[KeyRow], *, title: str = "Keys",
                 sections: list[tuple[str, list[KeyRow]]] | None = None,
                 notes: list[str] | None = None):
        super().__init__()
        self.rows = rows
        self.title_text = title
        self.sections = sections or []
        self.notes = notes or []

    @staticmethod
    def table(rows: list[KeyRow]) -> Table:
        table = Table(box=None, show_header=True, header_style="bold", expand=True)
        table.add_column("Key", no_wrap=True)
        table.add_column("Does")
        table.add_column(Text("Id (for [keys])"), style="dim")
        for row in rows:
            table.add_row(row.keys, row.does, row.id)
        return table

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(self.title_text, style="bold"))
            yield Static(self.table(self.rows))
            for title, rows in self.sections:
                yield Static(Text(f"\n{title}", style="bold"))
                yield Static(self.table(rows))
            yield Static(Text(f"\nRemap keys in {default_path()}:\n  [keys]\n  trigger = \"T\"",
                              style="dim"))
            for note in self.notes:
                yield Static(Text(f"\n{note}", style="dim"))
        yield KeyFooter()
