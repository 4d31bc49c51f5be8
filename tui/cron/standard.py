"""Ordinary cron's reading of a schedule, beside pg_cron's: where the two part ways.

People write and test schedules with tools that read cron the usual way, and croniter is that
reading here (the library many Python schedulers use): five fields, POSIX's rule for the days
(a restricted day-of-month or day-of-week field, '*/2' included, makes either one enough),
ranges that wrap (SAT-SUN is the weekend), ``MON#1`` as the first Monday. pg_cron reads the
same text as Vixie cron does, with its own additions (see grammar.py), so the same line can fire
on other days. ``compare`` runs both readings from the same instant, in the scheduler's zone,
and says whether and why they differ.

The readings are compared as wall-clock times in that zone: ordinary cron has no single answer
for a repeated DST hour, while a local time that the clocks skip is one pg_cron never runs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo

from croniter import croniter
from croniter.croniter import CroniterBadDateError, CroniterError

from .grammar import parse, yearly_never_fires
from .model import DOW_NAMES, MONTH_NAMES, Schedule, dom_restricted, dow_restricted
from .nextrun import next_runs
from .zones import resolve_zone

# How many runs of each reading are compared: enough to meet a difference that shows once a
# month or so (a '$' near a DST change, the first Monday) without scanning years ahead.
COMPARED_RUNS = 24
NOT_CRON = "not a cron schedule"  # the error for 'N seconds', which no cron has
_RANGE = re.compile(r"([0-9A-Za-z]+)-([0-9A-Za-z]+)")
_ONE_VALUE_RANGE = re.compile(r"(?<![0-9A-Za-z])([0-9A-Za-z]+)-\1(?:/[0-9]+)?(?![0-9A-Za-z])",
                              re.IGNORECASE)


@dataclass(frozen=True)
class Comparison:
    """Both readings' next runs (aware, in the zone) and whether they part ways."""

    differs: bool
    reasons: tuple[str, ...]
    pg_cron: tuple[datetime, ...]
    standard: tuple[datetime, ...]
    standard_error: str | None = None  # why ordinary cron does not read it at all


class NotStandard(ValueError):
    """Ordinary cron (croniter) does not read this schedule."""


def _standard_text(expr: str) -> str:
    """What a crontab line's schedule part is: a macro word, or the first five fields (the
    rest of a crontab line is its command). pg_cron's '$' is spelled 'L' there."""
    words = expr.split()
    if not words:
        raise NotStandard("an empty schedule")
    if words[0].startswith("@"):
        return words[0]
    # croniter reads a one-value range ('1-1', 'JUN-JUN/7') as the whole field; every cron
    # reads it as that one value.
    fields = [_ONE_VALUE_RANGE.sub(r"\1", f) for f in words[:5]]
    if len(fields) == 5 and fields[2] == "$":
        fields[2] = "L"  # the calendar's last day of the month, croniter's spelling
    return " ".join(fields)


def standard_runs(expr: str, after: datetime, tz: str | tzinfo, count: int) -> list[datetime]:
    """The next ``count`` runs as ordinary cron reads ``expr``, as wall-clock times in ``tz``
    after ``after``'s wall-clock time there. NotStandard when croniter does not read it."""
    zone = resolve_zone(tz) if isinstance(tz, str) else tz
    start = after.astimezone(zone).replace(tzinfo=None)
    try:
        reader = croniter(_standard_text(expr), start)
    except (CroniterError, ValueError, KeyError, TypeError) as exc:
        raise NotStandard(str(exc) or type(exc).__name__) from exc
    runs: list[datetime] = []
    for _ in range(count):
        try:
            runs.append(reader.get_next(datetime))
        except CroniterBadDateError:
            break  # no date matches: ordinary cron never runs it either
        except (CroniterError, ValueError, OverflowError):
            break
    return [r.replace(tzinfo=zone) for r in runs]


def _wall(runs: list[datetime] | tuple[datetime, ...]) -> list[datetime]:
    """Wall-clock minutes, a repeated DST hour's second run dropped."""
    seen: list[datetime] = []
    for r in runs:
        naive = r.replace(tzinfo=None)
        if not seen or seen[-1] != naive:
            seen.append(naive)
    return seen


def _value(token: str, names: tuple[str, ...], low: int) -> int | None:
    upper = token[:3].upper()
    if upper in names:
        return names.index(upper) + low
    return int(token) if token.isdigit() else None


def _backward_ranges(expr: str) -> list[str]:
    words = expr.split()[:5]
    found = []
    for index, word in enumerate(words):
        names, low = {3: (MONTH_NAMES, 1), 4: (DOW_NAMES, 0)}.get(index, ((), 0))
        for first, last in _RANGE.findall(word):
            a, b = _value(first, names, low), _value(last, names, low)
            if index == 4 and b == 7:
                b = None if a is None else max(a, 7)  # 'x-7' ends on Sunday: no wrap
            if a is not None and b is not None and a > b:
                found.append(f"{first}-{last}")
    return found


def _reasons(expr: str, s: Schedule, version: str) -> list[str]:
    """Known causes of a difference, most specific first (shown only when the runs differ)."""
    reasons: list[str] = []
    if s.macro is not None and yearly_never_fires(s.macro, version):
        reasons.append(f"@{s.macro} never fires on pg_cron 1.6 (it sets no month); ordinary "
                       "cron runs it on 1 January.")
    words = expr.split()
    if s.macro is None and len(words) >= 5 and "#" in words[4]:
        reasons.append("pg_cron ignores '#N' in the day-of-week field (MON#1 is every Monday); "
                       "ordinary cron reads it as the Nth such day of the month.")
    backward = _backward_ranges(expr) if s.macro is None else []
    if backward:
        reasons.append(f"pg_cron's ranges do not wrap ({', '.join(backward)} matches nothing); "
                       "ordinary cron reads them round the end (SAT-SUN as the weekend).")
    if s.macro is None and s.and_days and not (s.dom_star or s.dow_star) \
            and dom_restricted(s) and dow_restricted(s):
        reasons.append("cron.match_dom_and_dow is on: pg_cron needs both day fields to "
                       "match; ordinary cron needs either.")
    elif s.macro is None and ((s.dom_star and s.fields[2] != "*" and dow_restricted(s))
                              or (s.dow_star and s.fields[4] != "*" and dom_restricted(s))):
        # '*/2' or '*,1' is no plain '*' to ordinary cron, but Vixie's flag looks only at
        # the first character.
        starred = "day-of-month" if s.dom_star else "day-of-week"
        reasons.append(f"The {starred} field starts with '*', so pg_cron (like Vixie cron) "
                       "needs both day fields to match; ordinary cron's rule (POSIX, "
                       "croniter) needs either.")
    if s.dom_last:
        reasons.append("pg_cron decides '$' by looking 24 hours ahead, which near a DST change "
                       "is not the calendar's last day.")
    return reasons


def compare(expr: str, after: datetime, tz: str | tzinfo, count: int = 5, *,
            version: str = "1.6") -> Comparison | None:
    """pg_cron's and ordinary cron's next ``count`` runs after ``after`` in the scheduler's zone
    ``tz``, and whether they differ over the next COMPARED_RUNS. None when there is nothing
    to compare: pg_cron rejects ``expr``, or it runs at server start only."""
    s = parse(expr, version)
    if s is None or s.kind == "reboot":
        return None
    zone = resolve_zone(tz) if isinstance(tz, str) else tz
    window = max(count, COMPARED_RUNS)
    ours = next_runs(expr, after, zone, window + 2, version=version)
    if s.kind == "seconds":
        return Comparison(True, ("'N seconds' is pg_cron's own (1.5+): ordinary cron has no "
                                 "interval in seconds.",), tuple(ours[:count]), (),
                          NOT_CRON)
    try:
        theirs = standard_runs(expr, after, zone, window)
    except NotStandard as exc:
        return Comparison(True, ("Ordinary cron does not read this schedule.",),
                          tuple(ours[:count]), (), str(exc))
    ours_wall, theirs_wall = _wall(ours), _wall(theirs)
    if len(ours) == window + 2 and len(theirs) == window:
        # Both lists were cut by the count (a repeated DST hour may have eaten into pg_cron's):
        # compare as far as both reach.
        reach = min(len(ours_wall), len(theirs_wall))
        ours_wall, theirs_wall = ours_wall[:reach], theirs_wall[:reach]
    else:
        ours_wall = ours_wall[:window]
    differs = ours_wall != theirs_wall
    reasons: list[str] = []
    if differs:
        reasons = _reasons(expr, s, version)
        if not reasons and _skips_dst(ours_wall, theirs):
            reasons = ["A local time the clocks skip (DST) never runs on pg_cron."]
        if not reasons and any(_repeated(r) for r in ours):
            reasons = ["When the clocks go back (DST), pg_cron runs the repeated hour's times "
                       "again."]
        if not reasons:
            reasons = ["Their next runs differ."]
    return Comparison(differs, tuple(reasons), tuple(ours[:count]), tuple(theirs[:count]))


def _skips_dst(ours_wall: list[datetime], theirs: tuple[datetime, ...] | list[datetime]) -> bool:
    """Whether a run that ordinary cron lists is missing from pg_cron's because that
    wall-clock time does not exist in the zone (the clocks jumped over it)."""
    present = set(ours_wall)
    return any(r.replace(tzinfo=None) not in present and _nonexistent(r) for r in theirs)


def _nonexistent(local: datetime) -> bool:
    naive, zone = local.replace(tzinfo=None), local.tzinfo
    return all(naive.replace(tzinfo=zone, fold=fold).astimezone(timezone.utc).astimezone(zone)
               .replace(tzinfo=None) != naive for fold in (0, 1))


def summary(c: Comparison) -> str:
    """One line for a narrow panel: how ordinary cron's reading differs, and its next run."""
    if c.standard_error is not None:
        return f"ordinary cron does not read this schedule ({c.standard_error})"
    first = (f"next {c.standard[0].strftime('%Y-%m-%d %H:%M %a')}" if c.standard
             else "never")
    return f"ordinary cron: {first}; {c.reasons[0] if c.reasons else 'its runs differ'}"


def _repeated(local: datetime) -> bool:
    """Whether the wall-clock time of ``local`` occurs twice in its zone (clocks went back)."""
    naive, zone = local.replace(tzinfo=None), local.tzinfo
    first, second = (naive.replace(tzinfo=zone, fold=fold).astimezone(timezone.utc)
                     for fold in (0, 1))
    return first != second and all(
        t.astimezone(zone).replace(tzinfo=None) == naive for t in (first, second))
