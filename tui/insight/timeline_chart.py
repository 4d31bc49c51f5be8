"""The timeline as a chart: pure, drawn as styled cells that a terminal or a widget shows.

Each column is a time bucket (as few minutes as the width allows: 20 min for 24 hours at 80
columns); its bar is the most runs going at once in any minute of the bucket (the starts of
that minute plus the earlier runs still expected to go), the unit cron.max_running_jobs counts
in, so the limit is a line on the same scale. Every meaning has its own glyph, colour only
repeats it (NO_COLOR and monochrome terminals lose nothing): bars '█' (the part above the
limit '▓'), the limit line '┄', '!' under a bucket over the limit, '±' on the time axis where
the UTC offset changes (DST).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from tui.cron import resolve_zone
from tui.insight.timeline import Timeline

#: Styles a widget maps to colours; None is plain.
BAR, OVER, LIMIT, DST, AXIS = "bar", "over", "limit", "dst", "axis"
FULL, ABOVE, PARTS, LINE = "█", "▓", " ▁▂▃▄▅▆▇", "┄"
OVER_MARK, DST_MARK = "!", "±"
#: Bucket sizes tried, smallest first (minutes): each divides an hour or a day.
SIZES = (1, 2, 5, 10, 15, 20, 30, 60, 120, 180, 240, 360, 720, 1440)
GUTTER = 6  # "  12 ┤"
_EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)

Cell = tuple[str, str | None]  # (text, style)
Line = list[Cell]


@dataclass(frozen=True)
class Bucket:
    start: datetime
    peak: int  # most runs at once in a minute of it
    starts: int  # runs starting in it
    over: bool  # a minute of it goes over cron.max_running_jobs
    dst: bool  # the UTC offset changes in it


def bucket_minutes(hours: int, columns: int) -> int:
    # One column more than the hours need: the first bucket starts on the clock, before `start`.
    return next((s for s in SIZES if hours * 60 / s + 1 <= columns), SIZES[-1])


def _grid(start: datetime, hours: int, columns: int) -> tuple[datetime, timedelta, int]:
    """The first bucket's start (on a whole multiple of the size, so buckets begin on the
    clock's hours), the size and how many buckets cover [start, start + hours)."""
    size = timedelta(minutes=bucket_minutes(hours, columns))
    first = start - (start - _EPOCH) % size
    count = -(-(start + timedelta(hours=hours) - first) // size)
    return first, size, min(count, columns)


def buckets(plan: Timeline, columns: int) -> list[Bucket]:
    first, size, count = _grid(plan.start, plan.hours, columns)
    peak, starts, over, dst = [0] * count, [0] * count, [False] * count, [False] * count
    for m in plan.minutes:
        i = int((m.at - first) // size)
        if not 0 <= i < count:
            continue
        peak[i] = max(peak[i], m.at_once)
        starts[i] += len(m.jobs)
        over[i] = over[i] or m.over_limit
    for d in plan.dst:
        i = int((d.at - first) // size)
        if 0 <= i < count:
            dst[i] = True
    return [Bucket(first + size * i, peak[i], starts[i], over[i], dst[i])
            for i in range(count)]


def _scale(top: int, limit: int | None, height: int) -> tuple[float, int, bool]:
    """Runs per row, rows, and whether the limit is drawn: a limit far above every bar (32
    by default, against bars of 3) would flatten them; it is then said, not drawn."""
    shown = limit is not None and 0 < limit <= max(top, 1) * 2
    high = max(top, limit if shown and limit is not None else 0, 1)
    return max(high / height, 1.0), min(height, high), shown


def chart(plan: Timeline, *, width: int = 80, height: int = 8) -> list[Line]:
    """The chart of the whole server, title to legend, for a terminal `width` columns wide."""
    columns = max(width - GUTTER, 12)
    cols = buckets(plan, columns)
    size = bucket_minutes(plan.hours, columns)
    limit = plan.max_running_jobs
    top = max((b.peak for b in cols), default=0)
    per_row, rows, limit_shown = _scale(top, limit, height)
    limit_row = round(limit / per_row) if limit_shown and limit is not None else None
    size_text = f"{size} min" if size < 60 else f"{size // 60} h"
    if limit is None:
        said = "cron.max_running_jobs unknown (not readable by this role)"
    elif limit_shown:
        said = f"{LINE} cron.max_running_jobs = {limit}"
    else:
        said = f"cron.max_running_jobs = {limit}, above the chart"
    lines: list[Line] = [[(t, None)] for t in _pack(
        [f"Runs at once, the busiest minute of each {size_text}", f"({said})"], width)]
    for row in range(rows, 0, -1):
        lo = (row - 1) * per_row
        label = f"{round(row * per_row):>4} " if row in (rows, 1) or row == limit_row else " " * 5
        line: Line = [(label + "┤", AXIS)]
        for b in cols:
            line.append(_cell(b, lo, per_row, row == limit_row, limit))
        lines.append(line)
    axis: Line = [(" " * 5 + "└", AXIS)]
    axis += [(DST_MARK, DST) if b.dst else ("─", AXIS) for b in cols]
    lines.append(axis)
    lines.append([(" " * 6 + _time_axis(plan.start, plan.zone, cols[0].start, size,
                                        len(cols)), AXIS)])
    if any(b.over for b in cols):
        lines.append([(" " * 6, None)]
                     + [(OVER_MARK, OVER) if b.over else (" ", None) for b in cols])
    legend = [f"{FULL} runs at once"]
    if any(b.over for b in cols):
        legend += [f"{ABOVE} above the limit", f"{OVER_MARK} over the limit (runs queue)"]
    if any(b.dst for b in cols):
        legend.append(f"{DST_MARK} on the axis: DST change")
    lines += [[(t, None)] for t in _pack(legend, width, "   ")]
    return lines


def _pack(items: Sequence[str], width: int, sep: str = " ") -> list[str]:
    """Items joined on as few lines of `width` as they fit (none is cut)."""
    out: list[str] = []
    for item in items:
        if out and len(out[-1]) + len(sep) + len(item) <= width:
            out[-1] += sep + item
        else:
            out.append(item)
    return out


def _cell(b: Bucket, lo: float, per_row: float, on_limit: bool, limit: int | None) -> Cell:
    filled = b.peak - lo
    above = limit is not None and lo >= limit
    if filled >= per_row:
        return (ABOVE, OVER) if above else (FULL, OVER if b.over else BAR)
    if filled > 0:
        return PARTS[max(1, int(filled / per_row * 8))], OVER if b.over else BAR
    if on_limit:
        return LINE, LIMIT
    return " ", None


def _time_axis(start: datetime, zone_name: str, first: datetime, size: int, count: int) -> str:
    """Local times (the scheduler's zone) under the columns they fall in, as many as fit: the
    start, then whole hours a few columns apart."""
    zone = resolve_zone(zone_name)
    out = [" "] * count
    every = next((h for h in (1, 2, 3, 4, 6, 12, 24) if h * 60 / size >= 7), 24)
    step = timedelta(minutes=size)

    def put(at: datetime) -> None:
        i = int((at - first) // step)
        label = f"{at.astimezone(zone):%H:%M}"
        if 0 <= i and i + len(label) <= count and all(c == " " for c in out[max(i - 1, 0):i + 6]):
            out[i:i + len(label)] = label

    put(start)
    hour = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    while hour < first + step * count:
        local = hour.astimezone(zone)
        if local.minute == 0 and local.hour % every == 0:
            put(hour)
        hour += timedelta(hours=1)
    return "".join(out).rstrip()


def text(lines: Sequence[Line]) -> str:
    """The chart as plain text (the command line; no colour needed: glyphs carry it)."""
    return "\n".join("".join(t for t, _ in line).rstrip() for line in lines)


def job_strip(times: Sequence[datetime], start: datetime, hours: int, zone: str,
              width: int = 80) -> list[Line]:
    """One job's next `hours` in two lines: a mark in each bucket it starts in ('█' more than
    once, '▄' once) and the time axis. The detail view's per-job timeline."""
    first, size, count = _grid(start, hours, max(width - GUTTER, 12))
    per = [0] * count
    for t in times:
        i = int((t - first) // size)
        if 0 <= i < count:
            per[i] += 1
    strip: Line = [(f"{hours:>2} h ┤", AXIS)]
    strip += [(FULL if n > 1 else PARTS[4] if n else " ", BAR if n else None) for n in per]
    axis = " " * 6 + _time_axis(start, zone, first, int(size.total_seconds() // 60), count)
    return [strip, [(axis, AXIS)]]
