"""Time zones read as PostgreSQL reads a zone setting, and so as pg_cron reads cron.timezone.

pg_cron 1.5+ passes the text of cron.timezone to PostgreSQL's ``pg_tzset()`` each minute
(pg_cron.c, ShouldRunTask). pg_tzset (src/timezone/pgtz.c) upper-cases the name, then takes

1. a file of the server's tz database, found whatever the case of the name
   ('europe/berlin' is Europe/Berlin; aliases such as UTC, GMT, Etc/UTC are files too; a
   leading ':' is skipped);
2. failing that, a POSIX TZ string ('UTC+3' is three hours *behind* UTC, '<+03>-3' three
   hours ahead, 'CET-1CEST,M3.5.0,M10.5.0/3' with its daylight-saving rule), unless the
   text starts with ':'.

The setting's check hook is PostgreSQL's own ``check_timezone`` (the one of ``timezone``),
which also lets through a number of hours ('-3', '5.5'); an ``INTERVAL '+03:00' HOUR TO
MINUTE`` is refused at start (checked on 1.6.5). pg_tzset then reads a whole number as a POSIX
offset with no abbreviation, so '-3' runs jobs at UTC+3 (measured on 1.6.5: a job at 12:00
UTC+3 fired, one at 12:00 UTC-3 did not), the opposite of what ``SET timezone = '-3'`` means.
A fraction ('5.5') is read in ways we do not reproduce (it fired at UTC-5): unknown here.
A POSIX string with a daylight-saving name but no rule ('AAA3BBB') takes tzcode's default
rule, the United States' (measured: in November it fired at UTC-3).

A name the server's tz database lacks is rejected when the server starts, and pg_settings
then shows the default, GMT: so the name we read is one the server accepted, and if this
machine does not know it the zone is reported as unknown here, never guessed.
"""

from __future__ import annotations

import functools
import io
import struct
import zoneinfo
from datetime import timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# pg_tzset gives up on names longer than TZ_STRLEN_MAX.
_TZ_STRLEN_MAX = 255

NUMERIC_ZONE = (
    "PostgreSQL accepts a fraction of hours for the setting, but pg_cron's scheduler reads it "
    "as a POSIX string we do not reproduce; write a POSIX string such as '<+0530>-5:30' or a "
    "name such as 'Asia/Kolkata'"
)
# tzcode's rule for a POSIX string that names a daylight-saving time but gives no rule.
_DEFAULT_RULE = ",M3.2.0,M11.1.0"


class UnknownZone(ValueError):
    """A zone setting that cannot be turned into a time zone here; the message says why."""

    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"unknown time zone {name!r}: {why}")
        self.name = name
        self.why = why


@functools.lru_cache(maxsize=1)
def _names_by_folded_case() -> dict[str, str]:
    # Listing the tz database walks the disk: done once, and only for a name whose case differs.
    return {name.upper(): name for name in zoneinfo.available_timezones()}


def _tz_file(name: str) -> tzinfo | None:
    for candidate in (name, _names_by_folded_case().get(name.upper())):
        if not candidate:
            continue
        try:
            return ZoneInfo(candidate)
        except (ZoneInfoNotFoundError, ValueError, OSError):
            continue
    return None


def _tzif_header(typecnt: int, charcnt: int) -> bytes:
    # isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt (RFC 8536).
    return b"TZif2" + bytes(15) + struct.pack(">6l", 0, 0, 0, 0, typecnt, charcnt)


def _has_dst_name(spec: str) -> bool:
    """Whether a POSIX string goes on after its standard offset ('AAA3BBB', '<+03>-3<+04>')."""
    i = spec.index(">") + 1 if spec.startswith("<") and ">" in spec else 0
    while i < len(spec) and spec[i].isalpha():
        i += 1
    while i < len(spec) and (spec[i] in "+-:" or spec[i].isdigit()):
        i += 1
    return i < len(spec)


def _posix(spec: str) -> tzinfo | None:
    """A POSIX TZ string as a zone: a TZif file with no transitions and the string as its
    footer, so the standard library's own reading of POSIX rules applies to every instant."""
    if not spec.isascii() or "\n" in spec:
        return None
    block = _tzif_header(1, 4) + struct.pack(">lbb", 0, 0, 0) + b"UTC\0"
    footer = spec + _DEFAULT_RULE if "," not in spec and _has_dst_name(spec) else spec
    data = block + block + b"\n" + footer.encode("ascii") + b"\n"
    try:
        return ZoneInfo.from_file(io.BytesIO(data), key=spec)
    except (ValueError, IndexError, struct.error):
        return None


def _whole_hours(text: str) -> bool:
    digits = text[1:] if text[:1] in "+-" else text
    return digits.isascii() and digits.isdigit() and int(digits) <= 24


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def resolve_zone(name: str) -> tzinfo:
    """The zone pg_cron evaluates schedules in for this cron.timezone text.

    Raises UnknownZone when this machine cannot tell (not in its tz database, not a POSIX
    string) or when pg_cron itself cannot use the setting.
    """
    found = _resolve(name)
    if isinstance(found, UnknownZone):
        raise found
    return found


@functools.lru_cache(maxsize=128)
def _resolve(name: str) -> tzinfo | UnknownZone:
    # Failures are cached too: a refresh asks once per job, and the answer does not change.
    text = name.strip()
    if not text:
        return UnknownZone(name, "the setting is empty")
    if len(text) > _TZ_STRLEN_MAX:
        return UnknownZone(name, "longer than PostgreSQL accepts")
    if _whole_hours(text):
        # POSIX sign: '-3' is three hours ahead of UTC (see the module's docstring).
        return timezone(timedelta(hours=-int(text)))
    if _looks_numeric(text):
        return UnknownZone(name, NUMERIC_ZONE)
    # tzcode's tzload skips a leading ':' (checked: ':Europe/Berlin' is Europe/Berlin), and
    # pg_tzset then refuses such a text as a POSIX string.
    zone = _tz_file(text[1:] if text.startswith(":") else text)
    if zone is None and not text.startswith(":"):
        zone = _posix(text.upper())
    if zone is None:
        return UnknownZone(name, "neither a zone of this machine's tz database nor a POSIX "
                                 "TZ string")
    return zone


def zone_problem(name: str) -> str | None:
    """Why ``name`` cannot be used as the scheduler's zone here, or None when it can."""
    try:
        resolve_zone(name)
    except UnknownZone as exc:
        return str(exc)
    return None
