"""How times, durations, statuses and servers read on screen and in output. Pure functions."""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING

from tui.cron import UnknownZone, resolve_zone

if TYPE_CHECKING:
    from tui.models import ServerFacts

STATUS_STYLE = {
    "succeeded": "green",
    "failed": "bold red",
    "running": "yellow",
    "starting": "cyan",
    "connecting": "cyan",
    "sending": "cyan",
}


def _zone(tz: str) -> tzinfo:
    # A zone unknown here is named on screen where it is shown (tui.upcoming.zone_note); a
    # time must still print rather than fail the screen, so it reads in UTC then.
    try:
        return resolve_zone(tz)
    except UnknownZone:
        return timezone.utc


def _local(when: datetime, tz: str | None) -> datetime:
    return when.astimezone(_zone(tz)) if tz else when


def span(seconds: float) -> str:
    """A short human span: '45 s', '3 min', '3 h 12 min', '2 d 4 h'."""
    s = int(abs(seconds))
    if s < 60:
        return f"{s} s"
    minutes, hours, days = s // 60, s // 3600, s // 86400
    if s < 3600:
        return f"{minutes} min"
    if s < 86400:
        rest = minutes % 60
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    rest = hours % 24
    return f"{days} d {rest} h" if rest else f"{days} d"


def relative(when: datetime | None, now: datetime, *, to_the_minute: bool = False) -> str:
    """'in 3 min', '2 h ago'; `to_the_minute` says '<1 min' rather than counting seconds."""
    if when is None:
        return "-"
    delta = (when - now).total_seconds()
    if abs(delta) < 1:
        return "now"
    if to_the_minute and abs(delta) < 60:
        return "in <1 min" if delta > 0 else "<1 min ago"
    return f"in {span(delta)}" if delta > 0 else f"{span(delta)} ago"


def absolute(when: datetime | None, tz: str | None) -> str:
    """'Sun 29 Nov 03:00' in the given zone (the scheduler's)."""
    if when is None:
        return "-"
    return _local(when, tz).strftime("%a %d %b %H:%M")


def short_absolute(when: datetime | None, tz: str | None, now: datetime) -> str:
    """'Sun 03:00' within the coming week, '12 Jan 03:00' beyond it."""
    if when is None:
        return "-"
    local = _local(when, tz)
    if (when - now).total_seconds() < 6 * 86400:
        return local.strftime("%a %H:%M")
    return local.strftime("%d %b %H:%M")


def compact_ago(when: datetime | None, now: datetime) -> str:
    """'6d', '21h', '10m', '<1m': the largest unit only, for narrow terminals."""
    if when is None:
        return "-"
    seconds = max(int((now - when).total_seconds()), 0)
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return "<1m"


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.2f} s"
    return span(seconds)


def count(n: int) -> str:
    """10000 -> '10k', 2500000 -> '2.5M': a count that fits a narrow cell."""
    for size, unit in ((1_000_000, "M"), (1_000, "k")):
        if n >= size:
            return f"{n / size:.1f}".removesuffix(".0") + unit
    return str(n)


def not_in_lookback(lookback: int, *, short: bool = False) -> str:
    """The last run of a job none of whose runs was among the newest `lookback` searched:
    not "never", which it may well not be (the README and the help explain the text)."""
    return f"not in {count(lookback)}" if short else f"not in newest {count(lookback)}"


def iso(value: datetime | None) -> str | None:
    """ISO 8601 for JSON output; None stays None (null)."""
    return value.isoformat() if value is not None else None


def server_label(facts: ServerFacts) -> str:
    """The server as the audit log, the plan and the fleet name it: `addr:port/database`."""
    return f"{facts.server_addr}:{facts.server_port}/{facts.database}"
