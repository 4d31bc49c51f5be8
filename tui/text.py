"""Database text is data: the one rule for showing it, everywhere.

Job names, schedules (pg_cron ignores what follows the fifth field), commands, role and
database names, run messages and HTTP answers are written by whoever may schedule a job.
They reach the operator's terminal, clipboard, files and scripts only through here:

- control characters (C0, DEL, C1, so ESC, BEL, CSI, OSC) are shown as escapes (`\\x1b`),
  so no byte of theirs can move the cursor, set a link, write the clipboard or ring;
- bidirectional controls and invisible format characters (zero-width spaces and joiners,
  word joiners, BOM, tag characters, fillers) are shown as escapes (`\\u202e`), so text can
  neither be reordered on screen nor hide what it holds (`daily-backup` and
  `daily\\u200b-backup` look different);
- on screen it is never read as markup: `Text`/`plain()` carry it, never a markup string,
  and notifications are raw text (the app's `notify` forces it), so `[b]`, `[/]` or
  `[@click=app.quit]` are only characters.

Newlines and tabs survive `inert` (multi-line views, the clipboard); `one_line` shows them
as `\\n` and `\\t` where a line is all there is. The result holds no character that needs
escaping, so applying the rule twice changes nothing.
"""

from __future__ import annotations

import re
from typing import Any, TextIO

from rich.text import Text

# Format characters (Unicode category Cf), line and paragraph separators, and the
# invisible letters and marks used to make two names look alike. tests/test_hostile_cli.py
# checks that every Cf/Zl/Zp character this Python knows is in here.
_INVISIBLE = (
    "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u17b4\u17b5"
    "\u180b-\u180f\u200b-\u200f\u2028-\u202e\u2060-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
    "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
    "\U000e0000-\U000e007f"
)
# C0 but newline and tab, DEL, C1, lone surrogates (they cannot even be encoded), and the
# invisible characters above.
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE}]")
_UNSAFE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_INVISIBLE}]")
_NAMED = {"\r": "\\r", "\n": "\\n", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def inert(text: str | None) -> str:
    """The text with every control and invisible character shown as an escape; newlines
    and tabs kept (for views of many lines, the clipboard, files)."""
    return _UNSAFE.sub(_escape, text or "")


def one_line(text: str | None, width: int | None = None) -> str:
    """The text made inert on one line (newlines and tabs as `\\n`, `\\t`), cut to `width`
    characters with an ellipsis."""
    line = _UNSAFE_LINE.sub(_escape, (text or "").strip())
    if width is not None and len(line) > width:
        line = line[: max(width - 1, 0)] + "…"
    return line


def plain(text: str | None, style: str = "", **kwargs: object) -> Text:
    """Database text for any widget: a rich `Text` (never parsed as markup), inert, tabs
    as spaces (a tab byte would move the terminal's cursor on its own)."""
    return Text(inert(text).expandtabs(4), style=style, **kwargs)  # type: ignore[arg-type]


def as_text(content: str | Text) -> Text:
    """What a dialog or title was given: a str is database text (or holds some), so it is
    shown by `plain`; a Text was built from parts already made inert."""
    return plain(content) if isinstance(content, str) else content


def safe_filename(text: str | None, default: str = "x") -> str:
    """A piece of a file name built from database text (a database name in an export's
    default path): letters, digits, `.`, `_` and `-` only, never a path of its own."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "_", text or "").strip("._") or default
    return name[:60]


class InertWriter:
    """A text stream that writes everything through `inert`: the headless subcommands'
    stdout and stderr, so no subcommand can print a raw control byte, whatever it prints."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        self.stream.write(inert(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, encoding...
        return getattr(self.stream, name)
