"""Schedules in plain English.

cron-descriptor words ordinary five-field schedules. It is given the fields as pg_cron read
them (skipped characters such as '#1' removed, numbers as atoi saw them) because it would
otherwise describe 'MON#1' as "the first Monday", which is not what pg_cron does. What
cron-descriptor does not know (intervals, '$', @reboot, macros, schedules that never fire,
Vixie's AND rule for '*'-prefixed day fields) gets our own words.
"""

from __future__ import annotations

from cron_descriptor import ExpressionDescriptor, Options

from .grammar import parse, yearly_never_fires
from .model import Schedule, can_fire, dom_restricted, dow_restricted, uses_or_rule

INVALID = "invalid schedule"

_MACRO_WORDS = {
    "yearly": "every year on 1 January at 00:00",
    "annually": "every year on 1 January at 00:00",
    "monthly": "at 00:00 on the first day of every month",
    "weekly": "every Sunday at 00:00",
    "daily": "every day at 00:00",
    "midnight": "every day at 00:00",
    "hourly": "every hour, on the hour",
}


def _options() -> Options:
    options = Options()
    options.use_24hour_time_format = True
    options.verbose = False
    return options


def _describe_fields(s: Schedule) -> str:
    minute, hour, dom, month, dow = s.fields
    if s.dom_last:
        dom = "L"  # cron-descriptor's spelling of "last day of the month"
    text = ExpressionDescriptor(" ".join((minute, hour, dom, month, dow)), _options())
    if not (dom_restricted(s) and dow_restricted(s)):
        return text.get_description()
    # Both day fields restricted: cron-descriptor says "or" for one weekday and nothing for a
    # range or list ("..., Monday through Friday"); the day rule is said here, in full.
    days = text.get_day_of_week_description().lstrip(", ")
    for lead in ("or ", "only "):
        days = days.removeprefix(lead)
    days = days if days.startswith("on ") else f"on {days}"
    head, sep, tail = days.rpartition(" and ")
    days = f"{head} or {tail}" if sep else days  # a day matches one of the listed weekdays
    sentence = (text.get_time_of_day_description() + text.get_day_of_month_description())
    if uses_or_rule(s):
        sentence += f", or {days} (either day field may match)"
    else:
        sentence += f", but only if it is also {days.removeprefix('on ')} " \
                    "(both day fields must match)"
    return sentence + text.get_month_description()


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:] if text[:2] != text[:2].upper() else text


def describe(expr: str, version: str = "1.6") -> str:
    """A short English description of ``expr``; 'invalid schedule' if pg_cron rejects it."""
    try:
        s = parse(expr, version)
    except Exception:  # describe() is used in table cells: it must never raise
        return INVALID
    if s is None:
        return INVALID
    if s.kind == "seconds":
        return "every second" if s.seconds == 1 else f"every {s.seconds} seconds"
    if s.kind == "reboot":
        return "at server start"
    if yearly_never_fires(s.macro, version):
        return "never (pg_cron 1.6 bug): use 0 0 1 1 * for 1 January"
    if not can_fire(s):
        return "never (no date matches)"
    if s.macro is not None:
        return _MACRO_WORDS[s.macro]
    try:
        return _first_lower(_describe_fields(s))
    except Exception:  # cron-descriptor raises on shapes it does not know; say less, not crash
        return " ".join(s.fields)
