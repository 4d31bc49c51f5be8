"""What every subcommand prints through: JSON, plain tables and lines fitted to the terminal,
the exit codes, and the one place that runs a handler, makes its output inert and turns its
errors into exit codes."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tui import config, log
from tui.db import DatabaseError
from tui.errors import SetupError
from tui.masking import mask
from tui.text import InertWriter, one_line

# The exit codes of every subcommand, as README's table under *Headless subcommands* says.
#: Fine: done, valid, nothing wrong.
OK = 0
#: Found something: drift, a failed run, an invalid schedule, a warning, an HTTP error.
FOUND = 1
#: Refused or bad usage: not confirmed, read-only, a bad option or file, no connection, a
#: server's refusal. Nothing was changed.
REFUSED = 2
#: Internal: a bug of ours (sysexits' EX_SOFTWARE).
INTERNAL = 70
#: Interrupted (Ctrl+C), as a shell reports SIGINT.
INTERRUPTED = 130
#: The older name of REFUSED, for code written before the table.
USAGE_OR_DATABASE_ERROR = REFUSED

#: A column that wraps is never made narrower than this (a word per line helps nobody).
MIN_WRAP_WIDTH = 10


def print_json(data: Any) -> None:
    # ensure_ascii keeps C1 controls and bidi overrides escaped, so output stays inert.
    print(json.dumps(data, indent=2, ensure_ascii=True))


def terminal_width() -> int | None:
    """The width to fit text to: the terminal's (COLUMNS first, as shutil reads it) when
    stdout is one; None when piped or redirected, where nothing is wrapped or cut, so each
    row stays one line for grep and scripts."""
    isatty = getattr(sys.stdout, "isatty", None)
    if isatty is None or not isatty():
        return None
    return shutil.get_terminal_size().columns


def _wrap(text: str, width: int) -> list[str]:
    # Long words are broken rather than cut: every character stays.
    return textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False) or [""]


def table(rows: Sequence[Sequence[str]], headers: Sequence[str], *,
          width: int | None = None, wrap: Iterable[int] = (-1,)) -> list[str]:
    """Rows under headers in aligned columns, whole. Given a `width` the lines do not fit, the
    columns in `wrap` (indexes; default the last) are narrowed, widest first, and their cells
    wrap inside the column: between words while the longest word fits, then inside words if
    the terminal is narrower still. The other columns stay whole. Nothing is ever cut."""
    count = len(headers)
    widths = [max([len(headers[i]), *(len(r[i]) for r in rows)]) for i in range(count)]
    wrapping = sorted({i % count for i in wrap})
    if width is not None:
        excess = sum(widths) + 2 * (count - 1) - width
        longest_word = {i: max([0, *(len(w) for r in rows for w in r[i].split())])
                        for i in wrapping}
        for floor in ({i: min(longest_word[i], 3 * MIN_WRAP_WIDTH) for i in wrapping},
                      dict.fromkeys(wrapping, 0)):
            while excess > 0:
                narrower = [i for i in wrapping
                            if widths[i] > max(floor[i], MIN_WRAP_WIDTH, len(headers[i]))]
                if not narrower:
                    break  # as narrow as is useful: the terminal wraps the rest
                widths[max(narrower, key=lambda i: widths[i])] -= 1
                excess -= 1

    def lines_of(cells: Sequence[str]) -> list[str]:
        parts = [_wrap(c, widths[i]) if i in wrapping and len(c) > widths[i] else [c]
                 for i, c in enumerate(cells)]
        return ["  ".join((p[n] if n < len(p) else "").ljust(w)
                          for p, w in zip(parts, widths)).rstrip()
                for n in range(max(len(p) for p in parts))]

    out = lines_of(list(headers))
    for row in rows:
        out.extend(lines_of(row))
    return out


def print_table(rows: Sequence[Sequence[str]], headers: Sequence[str], *,
                wrap: Iterable[int] = (-1,)) -> None:
    """A table fitted to the terminal (see `table`); piped, each row on one line."""
    print("\n".join(table(rows, headers, width=terminal_width(), wrap=wrap)))


def fit_lines(lines: Iterable[str], width: int | None) -> list[str]:
    """Lines of a report, each too long for `width` wrapped under its own indent (plus two
    spaces for the continuation), never cut. None: as they are."""
    out: list[str] = []
    for line in lines:
        if width is None or len(line) <= width:
            out.append(line)
            continue
        indent = " " * (len(line) - len(line.lstrip(" ")))
        out.extend(textwrap.wrap(line.strip(" "), max(width, len(indent) + 2 + MIN_WRAP_WIDTH),
                                 initial_indent=indent, subsequent_indent=indent + "  ",
                                 break_long_words=True, break_on_hyphens=False))
    return out


def print_lines(lines: Iterable[str]) -> None:
    """A report's lines, fitted to the terminal (see `fit_lines`); piped, as they are."""
    print("\n".join(fit_lines(lines, terminal_width())))


def confirm(question: str, no_terminal: str) -> bool:
    """A 'y' typed on a terminal. From a pipe, never a guess: `no_terminal` goes to stderr and
    the answer is no."""
    if not sys.stdin.isatty():
        print(no_terminal, file=sys.stderr)
        return False
    try:
        # input() may write its prompt straight to the terminal, past sys.stdout
        answer = input(f"{one_line(question)} [y/N] ")
    except EOFError:
        return False
    return answer.strip().lower() in ("y", "yes")


def run_handler(handler: Callable[[argparse.Namespace], Any], args: argparse.Namespace, *,
                inert_output: bool) -> int:
    """Run a subcommand's handler (plain or async) to its exit code. With `inert_output`
    what it prints is database text: through the one rule (tui/text.py), whatever prints it,
    errors included. An error nobody expected is a bug: one line (masked) and INTERNAL, the
    traceback in the --log file only."""
    saved = sys.stdout, sys.stderr
    if inert_output:
        sys.stdout, sys.stderr = InertWriter(sys.stdout), InertWriter(sys.stderr)
    try:
        result = handler(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except (DatabaseError, SetupError, config.ConfigError) as exc:
        log.refusal(str(exc), error=type(exc).__name__)
        print(f"cronjobs-tui: {exc}", file=sys.stderr)
        return REFUSED
    except KeyboardInterrupt:
        return INTERRUPTED
    except Exception as exc:  # noqa: BLE001  # the last line of defence: an exit code, not a crash
        say_internal_error(exc, getattr(args, "command", None))
        return INTERNAL
    finally:
        sys.stdout, sys.stderr = saved


def say_internal_error(exc: BaseException, command: str | None) -> None:
    """A bug of ours, in one line on stderr (masked, inert); its traceback to the --log file."""
    log.internal_error(exc, command)
    said = one_line(mask(f"{type(exc).__name__}: {exc}"), 300)
    print(f"cronjobs-tui: internal error: {said}; run again with --log FILE for details",
          file=sys.stderr)
