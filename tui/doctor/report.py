"""The findings as a terminal shows them: one line per check, details and fix indented."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from tui.doctor.base import CHECKS, OK, PROBLEM, UNKNOWN, WARNING, Finding
from tui.text import inert, one_line

MARKERS = {OK: "ok", WARNING: "WARNING", PROBLEM: "PROBLEM", UNKNOWN: "unknown"}


def render(findings: Sequence[Finding], width: int | None = None) -> str:
    """Human output: one line per check, its details and its fix indented; all inert. Given
    a `width` (a terminal's), long lines wrap under their own start, not at column 0."""

    name_width = max(len(c) for c in CHECKS)
    lines: list[str] = []

    def put(first: str, text: str, indent: int) -> None:
        if width is None or len(first) + len(text) <= width:
            lines.append(first + text)
            return
        lines.extend(textwrap.wrap(text, width=max(width, indent + 20), initial_indent=first,
                                   subsequent_indent=" " * indent, break_on_hyphens=False))

    for f in findings:
        first = f"{MARKERS[f.status]:<8} {f.check:<{name_width}}  "
        put(first, one_line(f.summary), len(first))
        for detail in f.details:
            put(f"{'':<10}- ", one_line(detail), 12)
        if f.fix and f.status != OK:
            fix_lines = inert(f.fix).splitlines()
            put(f"{'':<10}fix: ", fix_lines[0], 15)
            for line in fix_lines[1:]:
                put(" " * 15, line, 15)
    return "\n".join(lines)
