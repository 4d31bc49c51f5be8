"""A line of text that redraws only when its text changes."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from tui.text import plain


class Line(Static):
    """Static.update re-lays out the whole screen each time it is called, which repaints both
    tables; titles and the header are set every refresh, mostly to the same text.

    A str given here is shown as data (tui/text.py): titles hold job names and server
    messages. A Text is shown as built (its parts made inert by whoever built it)."""

    shown: Text | str | None = None  # the text last given

    def set_text(self, text: Text | str, *, layout: bool = False) -> None:
        """`layout` when the text may change the widget's height (the banner)."""
        if text == self.shown:
            return
        self.shown = text
        self.update(plain(text) if isinstance(text, str) else text, layout=layout)
