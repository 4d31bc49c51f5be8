"""Run strips: a job's recent runs as one mark each, newest at the right. Pure: the jobs
table and the detail view draw the cells (glyph, style) it gives.

Each outcome has its own glyph, so NO_COLOR and monochrome terminals lose nothing; colour
(the style names, mapped by the screen) only repeats it. A late run is one that succeeded
after starting far behind its time (the lag rule's judgement, given by the caller).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tui import rules
from tui.rules import Usual

SUCCEEDED, FAILED, RUNNING, ORPHANED, LATE = "succeeded", "failed", "running", "orphaned", "late"
GLYPHS = {SUCCEEDED: "▪", FAILED: "✗", RUNNING: "▸", ORPHANED: "?", LATE: "▴"}
WORDS = {SUCCEEDED: "succeeded", FAILED: "failed", RUNNING: "running",
         ORPHANED: "orphaned (its backend is gone)", LATE: "late"}
#: The jobs table's strip; the detail view draws a longer one (and a job keeps that many).
TABLE_RUNS = 12
DETAIL_RUNS = 40
#: How each kind is coloured (colour only repeats the glyph).
STYLES = {SUCCEEDED: "green", FAILED: "bold red", RUNNING: "cyan", ORPHANED: "bold magenta",
          LATE: "bold yellow"}
SPARKS = "▁▂▃▄▅▆▇█"

Cell = tuple[str, str | None]  # (glyph, style: one of the kinds, None for an empty place)


@dataclass(frozen=True)
class StripRun:
    """What a mark needs of a run (newest last when given as a sequence)."""

    status: str | None
    orphaned: bool = False
    late: bool = False
    duration: float | None = None  # seconds, once finished (the detail's sparkline)


def kind(run: StripRun) -> str:
    if run.orphaned:
        return ORPHANED
    if run.status == "failed":
        return FAILED
    if run.status == "succeeded":
        return LATE if run.late else SUCCEEDED
    return RUNNING  # starting, connecting, sending, running


def strip(runs: Sequence[StripRun], width: int = TABLE_RUNS) -> list[Cell]:
    """The newest `width` runs, oldest first, padded on the left: the newest mark always sits
    at the right edge, where the eye finds it, whatever the job's history."""
    shown: list[Cell] = [(GLYPHS[k], k) for k in (kind(r) for r in runs[-width:])] \
        if width > 0 else []
    pad: list[Cell] = [(" ", None)] * (width - len(shown))
    return pad + shown


def text(cells: Sequence[Cell]) -> str:
    return "".join(g for g, _ in cells)


def legend(kinds: Sequence[str] = (SUCCEEDED, FAILED, RUNNING, ORPHANED, LATE)) -> str:
    return "  ".join(f"{GLYPHS[k]} {WORDS[k]}" for k in kinds)


def sparkline(durations: Sequence[float], width: int) -> tuple[str, str]:
    """The newest `width` durations (seconds) as bars on a scale from 0, and the scale said
    ('0 to 12.5 s'): a bar's height means the same in every column, and a flat line of tiny
    runs does not pass for a trend."""
    values = list(durations)[-width:] if width > 0 else []
    if not values:
        return "", "no finished run"
    top = max(values)
    if top <= 0:
        return SPARKS[0] * len(values), "all 0 s"
    bars = "".join(SPARKS[min(len(SPARKS) - 1, int(v / top * len(SPARKS)))] for v in values)
    return bars, f"0 to {top:.3g} s"


def judged(runid: int, status: str | None, *, orphaned: bool | None = False,
           lag: float | None = None, duration: float | None = None,
           usual: Usual | None = None) -> StripRun:
    """A run as its mark says it, by the rules (tui/rules.py): orphaned by is_orphaned's
    verdict (None, unknown, is not said), late by the lag outlier rule against its job's
    usual."""
    late = status == "succeeded" and rules.outlier(usual, rules.LAG, lag, runid) is not None
    return StripRun(status, orphaned=bool(orphaned), late=late, duration=duration)


def newest(runs: Mapping[int, StripRun], count: int = DETAIL_RUNS) -> tuple[StripRun, ...]:
    """The newest `count` of runs keyed by runid, oldest first."""
    return tuple(runs[runid] for runid in sorted(runs)[-count:])


def pieces(runs: Sequence[StripRun], width: int = TABLE_RUNS) -> tuple[tuple[str, str], ...]:
    """The strip as (text, style) pieces, a run of marks of one kind in one piece; nothing
    for a job without runs."""
    out: list[tuple[str, str]] = []
    for glyph, k in strip(runs, width) if runs else []:
        style = STYLES[k] if k is not None else ""
        if out and out[-1][1] == style:
            out[-1] = (out[-1][0] + glyph, style)
        else:
            out.append((glyph, style))
    return tuple(out)
