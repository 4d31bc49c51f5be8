"""What pg_cron keeps of a schedule it accepts (``Schedule``), its verdict (``Verdict``), the five
fields' ranges, and the day rule that decides on which days a schedule fires."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

ScheduleKind = Literal["cron", "seconds", "reboot"]

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DOW_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MAX_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


@dataclass(frozen=True)
class Verdict:
    """pg_cron's answer to a schedule, plus what a human should know about it."""

    valid: bool
    error: str | None = None
    hint: str | None = None
    warnings: tuple[str, ...] = ()
    kind: ScheduleKind | None = None
    seconds: int | None = None


@dataclass(frozen=True)
class FieldSpec:
    name: str
    low: int
    high: int
    names: tuple[str, ...] | None


MINUTE = FieldSpec("minute", 0, 59, None)
HOUR = FieldSpec("hour", 0, 23, None)
DOM = FieldSpec("day-of-month", 1, 31, None)
MONTH = FieldSpec("month", 1, 12, MONTH_NAMES)
# pg_cron's DowNames list has "Sun" twice (0 and 7); a name lookup always finds the first.
DOW = FieldSpec("day-of-week", 0, 7, DOW_NAMES)


@dataclass(frozen=True)
class Schedule:
    """A schedule pg_cron accepts, reduced to what decides when it fires.

    ``dows`` uses 0 = Sunday .. 6 = Saturday (7 is folded into 0 as pg_cron does). ``fields``
    holds the five fields rewritten without the characters pg_cron skips (for describing).
    """

    kind: ScheduleKind
    seconds: int | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    doms: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    dows: frozenset[int] = frozenset()
    dom_star: bool = False
    dow_star: bool = False
    dom_last: bool = False
    # cron.match_dom_and_dow on: both day fields must match, whatever their stars.
    and_days: bool = False
    macro: str | None = None
    fields: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def can_fire(s: Schedule) -> bool:
    """Whether a cron-kind schedule matches any minute at all (e.g. not '0 0 30 2 *')."""
    if s.kind != "cron":
        return False
    if not (s.minutes and s.hours and s.months):
        return False
    # Over a 28-year cycle every (month, day) pair falls on every weekday, Feb 29 included.
    dom_possible = s.dom_last or any(d <= _MAX_DAYS[m - 1] for m in s.months for d in s.doms)
    if not uses_or_rule(s):
        return dom_possible and bool(s.dows)
    return dom_possible or bool(s.dows)


def dom_restricted(s: Schedule) -> bool:
    return s.dom_last or s.doms != frozenset(range(1, 32))


def dow_restricted(s: Schedule) -> bool:
    return s.dows != frozenset(range(7))


def uses_or_rule(s: Schedule) -> bool:
    """Vixie cron: if either day field starts with '*', both must match; otherwise either.
    With cron.match_dom_and_dow on, both must match always."""
    return not (s.and_days or s.dom_star or s.dow_star)


def _day_rule_warnings(s: Schedule) -> list[str]:
    if not (dom_restricted(s) and dow_restricted(s)):
        return []
    if uses_or_rule(s):
        return [
            "Both day-of-month and day-of-week are restricted, so it runs on days matching "
            "either one (cron's OR rule), not only on days matching both."
        ]
    if s.and_days and not (s.dom_star or s.dow_star):
        return [
            "cron.match_dom_and_dow is on, so it runs only on days matching both day fields; "
            "ordinary cron (and pg_cron with the setting off) runs on days matching either."
        ]
    if s.dom_star != s.dow_star:
        starred = "day-of-month" if s.dom_star else "day-of-week"
        return [
            f"Because the {starred} field starts with '*', it runs only on days matching both "
            "day fields (cron's AND rule); without the '*' it would be either."
        ]
    return []
