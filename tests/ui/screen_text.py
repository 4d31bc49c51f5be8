"""What the operator sees: the app's screen as lines of text, read from the SVG screenshot
Textual makes of the real screen (every layer composed: dialogs, toasts, footers)."""

from __future__ import annotations

import html
import re
from typing import Any

_TEXT = re.compile(r'<text class="terminal-[^"]*" x="([0-9.]+)" y="[0-9.]+"[^>]*'
                   r'clip-path="url\(#terminal-(?:\d+-)?line-(\d+)\)">([^<]*)</text>')
CELL = 12.2  # an SVG screenshot's cell width, in its units


def screen_lines(app: Any) -> list[str]:
    """The screen, one string per terminal line (as wide as the terminal)."""
    svg = app.export_screenshot()
    width, height = app.size
    grid = [[" "] * width for _ in range(height)]
    for x, line, text in _TEXT.findall(svg):
        row, column = int(line), round(float(x) / CELL)
        for offset, char in enumerate(html.unescape(text).replace("\xa0", " ").rstrip("\n")):
            if row < height and column + offset < width:
                grid[row][column + offset] = char
    return ["".join(row) for row in grid]


def screen(app: Any) -> str:
    return "\n".join(screen_lines(app))


def footer(app: Any) -> str:
    """The bottom line: the footer of the screen in front."""
    return screen_lines(app)[-1]
