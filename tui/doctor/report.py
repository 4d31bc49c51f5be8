"""The findings as a terminal shows them: one line per check, details and fix indented."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

from tui.doctor.base import CHECKS, OK, PROBLEM, UNKNOWN, WARNING, Finding
from tui.text import inert, one_line

MARKERS = {OK: "ok", WARNING: "WARNING", PROBLEM: "PROBLEM", UNKNOWN: "unknown"}
#: Worst first: what to read before the rest.
ORDER = (PROBLEM, WARNING, UNKNOWN, OK)


def worst_first(findings: Sequence[Finding]) -> list[Finding]:
    """Problems, then warnings, then unknown, then ok; CHECKS order within each."""
    return sorted(findings, key=lambda f: ORDER.index(f.status) if f.status in ORDER
                  else len(ORDER))


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    return {status: sum(f.status == status for f in findings) for status in ORDER}


def summary(findings: Sequence[Finding]) -> str:
    """One line on top: "1 warning, 0 problems, 13 ok" (unknown only when there are some)."""
    n = counts(findings)

    def said(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    parts = [said(n[WARNING], "warning"), said(n[PROBLEM], "problem")]
    if n[UNKNOWN]:
        parts.append(f"{n[UNKNOWN]} unknown")
    parts.append(f"{n[OK]} ok")
    return ", ".join(parts)


def render(findings: Sequence[Finding], width: int | None = None) -> str:
    """Human output: the summary line, then one line per check, worst first, its details and
    its fix indented; all inert. Given a `width` (a terminal's), long lines wrap under their
    own start, not at column 0."""

    name_width = max(len(c) for c in CHECKS)
    lines: list[str] = [summary(findings)]

    def put(first: str, text: str, indent: int) -> None:
        if width is None or len(first) + len(text) <= width:
            lines.append(first + text)
            return
        lines.extend(textwrap.wrap(text, width=max(width, indent + 20), initial_indent=first,
                                   subsequent_indent=" " * indent, break_on_hyphens=False))

    for f in worst_first(findings):
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
