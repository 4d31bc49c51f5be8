"""A footer that keeps the keys an operator needs most when the terminal is narrow.

Textual's footer lays its keys out left to right and cuts whatever passes the right edge: at
80 columns that was `? Help` and `q Quit`. Here the keys that get one out of trouble (help,
quit, back) and the palette's key always stay, the keys used most (new, refresh) go last,
the others make way from the least used; every key remains on the help screen and in the
command palette.

Each screen and dialog has its own footer, so a dialog's footer shows its own keys, never
those of the screen beneath it (which do nothing while the dialog is open).
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.events import Resize
from textual.widget import Widget
from textual.widgets import Footer

#: Actions never dropped from the footer.
ESSENTIAL = frozenset({"help", "quit", "app.quit", "back", "dismiss", "app.pop_screen",
                       "close", "cancel"})
#: Which keys make way first when the footer is too narrow (then any other, from the last).
MAKE_WAY = ("send_http", "delete", "search_back", "problems_first", "older", "newer",
            "filter", "edit", "pause")
#: Kept over any other key but those that get one out of trouble: the ones used most.
KEEP = ("refresh", "new")
#: Below this width the footer is compact (no room between keys).
NARROW = 120


def _is_key(widget: Widget) -> bool:
    """A key the footer shows: Textual does not export its class, so known by what it has."""
    return all(hasattr(widget, name) for name in ("action", "key_display", "description"))


def _width(key: Any, compact: bool) -> int:
    # " k Desc " as drawn, or "k Desc" and a one-column margin when compact.
    text = len(key.key_display) + (len(key.description) + 1 if key.description else 0)
    if key.has_class("-command-palette"):
        return text + 3  # docked right, with its border
    return text + (1 if compact else 2)


class KeyFooter(Footer):
    def compose(self) -> ComposeResult:
        width = self.size.width or self.app.size.width
        narrow = width < NARROW
        self.compact = narrow
        widgets = list(super().compose())
        keys: list[Any] = [w for w in widgets if _is_key(w)]
        used = sum(_width(k, narrow) for k in keys)
        rank = {action: index for index, action in enumerate(MAKE_WAY)}
        rank.update({action: len(MAKE_WAY) + 1 + index for index, action in enumerate(KEEP)})
        candidates = [k for k in reversed(keys)
                      if k.action not in ESSENTIAL and not k.has_class("-command-palette")]
        candidates.sort(key=lambda k: rank.get(k.action, len(MAKE_WAY)))
        for key in candidates:
            if used <= width:
                break
            widgets.remove(key)
            used -= _width(key, narrow)
        yield from widgets

    _composed_for = 0

    def on_resize(self, event: Resize) -> None:
        if event.size.width != self._composed_for:
            self._composed_for = event.size.width
            self.refresh(recompose=True)
