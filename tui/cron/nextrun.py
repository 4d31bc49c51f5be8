"""When a pg_cron job fires next.

The cron kind is computed here from the bit sets the grammar module produced, not by croniter:
croniter would first need pg_cron's dialect translated (``$``, ``MON#1`` meaning every Monday,
non-wrapping ranges, ignored extra fields) and it has no notion of a schedule that never fires.
The matching rule is pg_cron's (Vixie cron's): minute, hour and month must match; for the days,
if either day field starts with '*' both must match, otherwise either may (both always when the
server's cron.match_dom_and_dow is on: ``Schedule.and_days``).

``$`` (last day of the month, 1.6+) is decided as pg_cron decides it: not from the calendar but
by looking 24 hours ahead (``ShouldRunTask``: is the local day of ``now + 24 h`` the 1st?). The
two differ only near a UTC offset change: late on the day before the last counts as "last"
when the clocks go forward on the last day; the first hour of a last day does not when they go
back that day; and the first hour of a 1st does when they go back later on the 1st.

Time zones follow how pg_cron's launcher works: it walks real minutes and checks each one's
local wall-clock time. So a local time skipped by a DST jump never fires and a repeated local
time fires twice.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo

from .grammar import parse
from .model import Schedule, can_fire, uses_or_rule
from .zones import resolve_zone

# The largest UTC offset jump in tzdata is two hours; three leaves room when deciding that no
# later wall-clock time can still map to an earlier instant.
_DST_MARGIN = timedelta(hours=3)
# A schedule that can fire at all fires within 28 years (the calendar repeats); this bounds the
# search even if can_fire() were wrong.
_HORIZON_YEARS = 400
_DAY = timedelta(days=1)  # pg_cron's USECS_PER_DAY: real time, not a calendar day
# How many days before the calendar's last day ``$`` may hold: a 24-hour look-ahead reaches
# the 1st from the day before the last when the clocks go forward. Two leaves room for
# tzdata's larger jumps (a zone crossing the date line skips a whole day).
_LOOKAHEAD_DAYS = 2


def _as_tz(tz: str | tzinfo) -> tzinfo:
    return resolve_zone(tz) if isinstance(tz, str) else tz


def _day_matches(s: Schedule, day: date, last_day: bool) -> bool:
    """pg_cron's day rule; ``last_day``: whether ``$`` holds (see ``_is_last_day``)."""
    dom_ok = day.day in s.doms or (s.dom_last and last_day)
    dow_ok = (day.weekday() + 1) % 7 in s.dows  # Python: Monday=0; cron: Sunday=0
    if not uses_or_rule(s):
        return dom_ok and dow_ok
    return dom_ok or dow_ok


def _is_last_day(instant: datetime, tz: tzinfo) -> bool:
    """pg_cron 1.6's ``$``: the local day 24 hours (of real time) after ``instant`` is a 1st.
    v1.6.4 src/pg_cron.c:973,986-987; v1.6.7 src/pg_cron.c:974,987-989."""
    return (instant + _DAY).astimezone(tz).day == 1


def _maybe_last_day(day: date) -> bool:
    """Whether ``$`` can hold on ``day`` for some instant: the calendar's last day, one of the
    two before it (clocks going forward ahead shorten the look-ahead's wall-clock day), or the
    1st itself (clocks going back later that day: from 00:30, 24 hours on is 23:30 the same
    day, so the 1st of November 2026 in New York has a "last day" hour)."""
    return day.day == 1 or calendar.monthrange(day.year, day.month)[1] - day.day <= _LOOKAHEAD_DAYS


def _matching_days(s: Schedule, start: date) -> Iterator[date]:
    """The days on which the schedule may fire; for ``$`` a superset, narrowed per instant."""
    year, month, first_day = start.year, start.month, start.day
    while year <= min(start.year + _HORIZON_YEARS, 9999):
        if month in s.months:
            last = calendar.monthrange(year, month)[1]
            for d in range(first_day, last + 1):
                day = date(year, month, d)
                if _day_matches(s, day, d == last) or (
                    s.dom_last and _maybe_last_day(day) and _day_matches(s, day, True)
                ):
                    yield day
        first_day = 1
        month += 1
        if month == 13:
            year, month = year + 1, 1


def _instants(naive: datetime, tz: tzinfo) -> list[datetime]:
    """The UTC instants whose wall-clock time in tz is ``naive``: none, one or two."""
    found: list[datetime] = []
    for fold in (0, 1):
        utc = naive.replace(tzinfo=tz, fold=fold).astimezone(timezone.utc)
        if utc.astimezone(tz).replace(tzinfo=None) == naive and utc not in found:
            found.append(utc)
    return found


def _offset_changes(tz: tzinfo, start: datetime, end: datetime) -> bool:
    """Whether tz's UTC offset differs between two instants (a DST change may lie between)."""
    return start.astimezone(tz).utcoffset() != end.astimezone(tz).utcoffset()


def _near_change(tz: tzinfo, instant: datetime) -> bool:
    return _offset_changes(tz, instant - _DST_MARGIN, instant) or _offset_changes(
        tz, instant, instant + _DST_MARGIN
    )


def _cron_runs(s: Schedule, after: datetime, tz: tzinfo, count: int) -> list[datetime]:
    if count <= 0 or not can_fire(s):
        return []
    after_utc = after.astimezone(timezone.utc)
    local_after = after_utc.astimezone(tz).replace(tzinfo=None)
    scan_from = local_after.replace(second=0, microsecond=0)
    if _near_change(tz, after_utc):
        # Near a clock change, wall times before now may still lie ahead (a repeated hour).
        scan_from -= _DST_MARGIN
    hours, minutes = sorted(s.hours), sorted(s.minutes)
    found: list[datetime] = []
    stop_after: datetime | None = None
    start = (scan_from.hour, scan_from.minute)
    for day in _matching_days(s, scan_from.date()):
        first_day = day == scan_from.date()
        for hour in hours:
            if first_day and hour < start[0]:
                continue  # before scan_from: skipped without making a datetime per minute
            for minute in minutes:
                if first_day and (hour, minute) < start:
                    continue
                naive = datetime(day.year, day.month, day.day, hour, minute)
                if stop_after is not None and naive > stop_after:
                    return _finish(found, tz, count)
                for instant in _instants(naive, tz):
                    if instant > after_utc and (
                        not s.dom_last or _day_matches(s, day, _is_last_day(instant, tz))
                    ):
                        found.append(instant)
                if stop_after is None and len(found) >= count:
                    # Wall-clock order is instant order unless the clocks change near the
                    # count-th run; then later wall times may still map to earlier instants.
                    kth = sorted(found)[count - 1]
                    near = _near_change(tz, kth)
                    stop_after = naive + _DST_MARGIN if near else naive
    return _finish(found, tz, count)


def _finish(found: list[datetime], tz: tzinfo, count: int) -> list[datetime]:
    return [instant.astimezone(tz) for instant in sorted(found)[:count]]


def _seconds_runs(
    interval: int, after: datetime, tz: tzinfo, count: int, last_start: datetime | None
) -> list[datetime]:
    step = timedelta(seconds=interval)
    if last_start is None:
        # pg_cron starts the first run about N seconds after it learns of the job: approximate.
        base, k = after, 1
    else:
        base = last_start
        k = max(1, (after - last_start) // step + 1)
    return [(base + step * (k + i)).astimezone(tz) for i in range(count)]


def next_runs(
    expr: str,
    after: datetime,
    tz: str | tzinfo,
    count: int = 5,
    *,
    version: str = "1.6",
    last_start: datetime | None = None,
) -> list[datetime]:
    """The next ``count`` runs strictly after ``after`` (aware), as aware datetimes in ``tz``.

    Empty for invalid schedules, @reboot/@restart, and schedules that can never fire.
    ``tz`` is pg_cron's cron.timezone as PostgreSQL reads it (any case, POSIX strings; always
    'UTC' on pg_cron 1.4, which the caller passes); UnknownZone when it cannot be read here.
    """
    if after.tzinfo is None:
        raise ValueError("after must be timezone-aware (take it from the server's now())")
    schedule = parse(expr, version)
    if schedule is None or count <= 0:
        return []
    zone = _as_tz(tz)
    if schedule.kind == "seconds":
        assert schedule.seconds is not None
        return _seconds_runs(schedule.seconds, after, zone, count, last_start)
    if schedule.kind == "cron":
        return _cron_runs(schedule, after, zone, count)
    return []


@dataclass
class _Entry:
    expr: str
    tz: str | tzinfo
    version: str
    last_start: datetime | None
    next_run: datetime | None


class NextRunCache:
    """Each job's next run, recomputed only when it has passed or its inputs changed.

    A lookup for a job whose schedule, time zone, version and last start are unchanged and whose
    next run is still ahead is a dictionary lookup and a few comparisons. Jobs that never fire
    (invalid, @reboot, impossible dates) are cached as None until their inputs change.
    """

    def __init__(self) -> None:
        self._entries: dict[int, _Entry] = {}

    def next_run(
        self,
        jobid: int,
        expr: str,
        now: datetime,
        tz: str | tzinfo,
        *,
        version: str = "1.6",
        last_start: datetime | None = None,
    ) -> datetime | None:
        entry = self._entries.get(jobid)
        if (
            entry is not None
            and entry.expr == expr
            and entry.tz == tz
            and entry.version == version
            and entry.last_start == last_start
            and (entry.next_run is None or entry.next_run > now)
        ):
            return entry.next_run
        runs = next_runs(expr, now, tz, 1, version=version, last_start=last_start)
        next_run = runs[0] if runs else None
        self._entries[jobid] = _Entry(expr, tz, version, last_start, next_run)
        return next_run

    def forget(self, jobid: int) -> None:
        """Drop a job (unscheduled); unknown ids are ignored."""
        self._entries.pop(jobid, None)

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
