"""What every subcommand prints through: JSON, plain tables, and the one place that runs a
handler, makes its output inert and turns its errors into exit codes."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

from tui import config
from tui.db import DatabaseError
from tui.errors import SetupError
from tui.text import InertWriter, one_line

#: Exit codes shared by all subcommands (each may also return 1 for "something is wrong").
USAGE_OR_DATABASE_ERROR = 2
INTERRUPTED = 130


def print_json(data: Any) -> None:
    # ensure_ascii keeps C1 controls and bidi overrides escaped, so output stays inert.
    print(json.dumps(data, indent=2, ensure_ascii=True))


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


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
    errors included."""
    saved = sys.stdout, sys.stderr
    if inert_output:
        sys.stdout, sys.stderr = InertWriter(sys.stdout), InertWriter(sys.stderr)
    try:
        result = handler(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except (DatabaseError, SetupError, config.ConfigError) as exc:
        print(f"cronjobs-tui: {exc}", file=sys.stderr)
        return USAGE_OR_DATABASE_ERROR
    except KeyboardInterrupt:
        return INTERRUPTED
    finally:
        sys.stdout, sys.stderr = saved
