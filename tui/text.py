"""Making untrusted text (job names, commands, server messages) inert for display."""

from __future__ import annotations

import re

# C0 and C1 controls, DEL, and the bidirectional overrides that can reorder what follows.
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u200e\u200f]")


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char == "\r":
        return "\\r"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(text: str | None) -> str:
    """The text with every control character shown as an escape; newlines and tabs kept."""
    return _UNSAFE.sub(_escape, text or "")


def one_line(text: str | None, width: int | None = None) -> str:
    """The first line of the text, made inert, tabs as spaces, cut to `width`."""
    first = (text or "").strip().split("\n", 1)[0]
    line = inert(first).replace("\t", " ")
    if width is not None and len(line) > width:
        line = line[: max(width - 1, 0)] + "…"
    return line
