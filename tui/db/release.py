"""Which pg_cron release a server runs, as closely as its behaviour tells.

`pg_extension.extversion` names the SQL version only: '1.6' for every 1.6.x (and '1.5' for
1.6.0). What differs between releases is probed instead, once per connection, in one statement
(release_probe.sql) of a transaction that is always rolled back:

* `5 seconds` accepted: 1.5 or newer;
* `0 0 $ * *` accepted: 1.6 or newer;
* `*/60 * * * *` rejected on 1.6: 1.6.5 or newer (the step check, commit 5c10a8a);
* the setting `cron.match_dom_and_dow` exists: newer than 1.6.7 (master, commit 36f1b33).

The probes write nothing: `cron.alter_job(-1, ...)` parses the schedule and then finds no job
-1; without EXECUTE on it, `cron.schedule` in a block whose insert is undone (which uses up a
job id). In a read-only session or on a standby the server refuses the write after the parse,
which answers just the same. A probe the server cannot answer (no privilege at all) leaves the
release at what extversion says, and says it was not probed.
"""

from __future__ import annotations

import re

import psycopg

from tui.cron import parse_version
from tui.db.connect import ConnectOptions, read_in_one_trip
from tui.db.queries import query
from tui.models import PgCronRelease

INVALID_SCHEDULE = "22023"  # invalid_parameter_value: "invalid schedule: ..."
NO_SUCH_JOB = "XX000"  # alter_job's elog(ERROR, "Job %ld does not exist or you don't own it")
ACCEPTED = "00000"  # what release_probe.sql says when the call went through
READ_ONLY = "25006"  # read_only_sql_transaction: a read-only session, or a standby


class _Inconclusive(Exception):
    """The server refused for another reason than the schedule: nothing was learned."""


def _accepted(answer: dict[str, str]) -> bool:
    """release_probe.sql's answer for one schedule: accepted or not."""
    state = answer["state"]
    if state == INVALID_SCHEDULE:
        return False
    if state in (ACCEPTED, READ_ONLY):
        return True  # pg_cron parses a schedule before it writes, which the server refused
    if answer["how"] == "alter" and state == NO_SUCH_JOB and "does not exist" in answer["message"]:
        return True  # parsed; then found no job -1
    raise _Inconclusive(answer["message"])


def from_extversion(extversion: str) -> PgCronRelease:
    line = parse_version(extversion)
    return PgCronRelease(line=line, label=line, version=line, probed=False)


async def probe_release(conn: psycopg.AsyncConnection, opts: ConnectOptions,
                        extversion: str) -> PgCronRelease:
    """The release as closely as the probes tell, in one transaction that is rolled back and
    one round trip. In a read-only session too: pg_cron parses a schedule before it writes,
    and the server refuses the write."""
    _, (row,) = await read_in_one_trip(conn, opts, [(query("release_probe"), {}),
                                                     (query("release_probe_answers"), {})],
                                       rollback=True)
    try:
        seconds, dollar, big_step = (_accepted(a) for a in row["answers"] or [])
    except (_Inconclusive, ValueError):
        return from_extversion(extversion)
    match_setting, readable = row["match_dom_and_dow"], row["readable"]
    if not dollar:
        line = "1.5" if seconds else "1.4"
        # No probe tells releases of 1.4 or 1.5 apart: name them as extversion does ('1.4-1').
        label = extversion if parse_version(extversion) == line else line
        return PgCronRelease(line=line, label=label, version=line, probed=True)
    if match_setting is not None:
        return PgCronRelease(line="1.6", label="1.6 (>1.6.7)", version="1.6", probed=True,
                             match_dom_and_dow=match_setting == "on")
    if big_step:
        # 1.6.0-1.6.4 behave alike as far as the probes go: judge as the newest of them.
        return PgCronRelease(line="1.6", label="1.6 (<1.6.5)", version="1.6.4", probed=True,
                             match_dom_and_dow=False if readable else None)
    # Without the right to read settings, a master build cannot be told from 1.6.5-1.6.7.
    return PgCronRelease(line="1.6", label="1.6 (>=1.6.5)", version="1.6", probed=True,
                         match_dom_and_dow=False if readable else None)


# -- schedules that crash a release ----------------------------------------------------------

INT_MAX = 2**31 - 1
_LOWS = (0, 0, 1, 1, 0)  # the first value of minute, hour, day of month, month, day of week
_NAMES = {3: ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"),
          4: ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")}
_RANGE_STEP = re.compile(r"(?:^|,)([0-9A-Za-z]+)-[0-9A-Za-z]+/0*([0-9]+)")


def overflows_set_range(expr: str) -> bool:
    """Whether `expr` makes pg_cron 1.6.0-1.6.4 write out of bounds (measured on 1.6.4: the
    backend dies of SIGSEGV and the postmaster restarts, cutting every session). v1.6.4
    src/entry.c:507-523, set_range(): `for (int i = start; i <= stop; i += step)
    bit_set(bits, i);` with start = first - low: for start >= 1 and start + step > INT_MAX,
    `i` overflows to a negative index. 1.5 checks each value (rejects it); 1.6.5 rejects steps
    over the field's maximum. Over-approximates (any such range item among the first five
    words): refusing a schedule with a step of about 2**31 costs nobody anything."""
    for index, word in enumerate(expr.split()[:5]):
        for first, step in _RANGE_STEP.findall(word):
            names = _NAMES.get(index, ())
            if first.isdigit():
                value = int(first)
            elif first[:3].upper() in names:
                value = names.index(first[:3].upper()) + _LOWS[index]
            else:
                continue
            start = value - _LOWS[index]
            if start >= 1 and start + int(step) > INT_MAX:
                return True
    return False


def may_crash(expr: str, release: PgCronRelease | None) -> bool:
    """Whether sending `expr` to this server could crash it: on 1.6.0-1.6.4, or where the
    release is not known that closely (not probed: 1.6.0 even reports extversion '1.5')."""
    if release is not None and (release.line == "1.4" or
                                (release.probed and release.version != "1.6.4")):
        return False
    return overflows_set_range(expr)


def crash_refusal(expr: str) -> str:
    return (f"not sent: pg_cron 1.6.0-1.6.4 crash on {expr.strip()!r} (a range step so large "
            "it overflows; the server restarts and every session is cut). Use a step no larger "
            "than the field's maximum")

