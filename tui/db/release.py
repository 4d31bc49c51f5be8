"""Which pg_cron release a server runs, as closely as its behaviour tells.

`pg_extension.extversion` names the SQL version only: '1.6' for every 1.6.x (and '1.5' for
1.6.0). What differs between releases is probed instead, once per connection, each probe
rolled back (a PL/pgSQL block, release_probe_all.sql, asks them all in one round trip; where
it cannot run, each is asked in a savepoint):

* `5 seconds` accepted: 1.5 or newer;
* `0 0 $ * *` accepted: 1.6 or newer;
* `*/60 * * * *` rejected on 1.6: 1.6.5 or newer (the step check, commit 5c10a8a);
* the setting `cron.match_dom_and_dow` exists: newer than 1.6.7 (master, commit 36f1b33).

The probes write nothing: `cron.alter_job(-1, ...)` parses the schedule and then finds no job
-1; without EXECUTE on it, `cron.schedule` in a savepoint that is rolled back (which uses up a
job id). In a read-only session or on a standby the server refuses the write after the parse,
which answers just the same. A probe the server cannot answer (no privilege at all) leaves the
release at what extversion says, and says it was not probed.
"""

from __future__ import annotations

import re

import psycopg

from tui.cron import parse_version
from tui.db.connect import ConnectOptions, read_in_one_trip, transaction
from tui.db.queries import query
from tui.models import PgCronRelease

INVALID_SCHEDULE = "22023"  # invalid_parameter_value: "invalid schedule: ..."
NO_SUCH_JOB = "XX000"  # alter_job's elog(ERROR, "Job %ld does not exist or you don't own it")
INSUFFICIENT_PRIVILEGE = "42501"
READ_ONLY = "25006"  # read_only_sql_transaction: a read-only session, or a standby


class _Inconclusive(Exception):
    """The server refused for another reason than the schedule: nothing was learned."""


class _Prober:
    """Asks pg_cron whether it accepts a schedule, each question in a savepoint rolled back."""

    def __init__(self, conn: psycopg.AsyncConnection, opts: ConnectOptions) -> None:
        self.conn = conn
        self.opts = opts
        self.via_alter = True  # until EXECUTE on cron.alter_job turns out to be missing

    async def accepts(self, schedule: str) -> bool:
        if self.via_alter:
            try:
                await self._ask("release_probe_alter", schedule)
            except psycopg.Error as exc:
                if exc.sqlstate == INVALID_SCHEDULE:
                    return False
                if exc.sqlstate == READ_ONLY or (exc.sqlstate == NO_SUCH_JOB
                                                 and "does not exist" in str(exc)):
                    return True  # parsed; then the update was refused or found no job -1
                if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
                    raise _Inconclusive from exc
            # No EXECUTE on alter_job, or no error at all: on a standby alter_job returns
            # before parsing anything.
            self.via_alter = False
        try:
            await self._ask("release_probe_schedule", schedule)
        except psycopg.Error as exc:
            if exc.sqlstate == INVALID_SCHEDULE:
                return False
            if exc.sqlstate == READ_ONLY:
                return True  # cron.schedule parses before it inserts
            raise _Inconclusive from exc
        return True

    async def _ask(self, name: str, schedule: str) -> None:
        async with transaction(self.conn, self.opts, force_rollback=True):
            await self.conn.execute(query(name), {"schedule": schedule})


def from_extversion(extversion: str) -> PgCronRelease:
    line = parse_version(extversion)
    return PgCronRelease(line=line, label=line, version=line, probed=False)


#: release_probe_all.sql's SQLSTATE for "no error": raised by us to roll a block back.
NO_ERROR = "CJ000"
PROBES = ("5 seconds", "0 0 $ * *", "*/60 * * * *")  # in release_probe_all.sql's order


def _accepted(answer: str) -> bool:
    """One of release_probe_all.sql's answers, read as _Prober.accepts reads an error."""
    via, state, missing_job = answer.split(":")
    if state == INVALID_SCHEDULE:
        return False
    if state == READ_ONLY or (via == "alter" and state == NO_SUCH_JOB and missing_job == "true"):
        return True
    if via == "schedule" and state == NO_ERROR:
        return True
    raise _Inconclusive


async def probe_in_one_trip(conn: psycopg.AsyncConnection, opts: ConnectOptions,
                             ) -> tuple[list[bool], tuple[str | None, bool]] | None:
    """The answers to PROBES and the settings, in one round trip (one PL/pgSQL block asks
    them all); None when the block could not run (no PL/pgSQL, say): ask step by step."""
    try:
        _, (row,), (settings,) = await read_in_one_trip(conn, opts, [
            (query("release_probe_all"), {}), (query("release_probe_answers"), {}),
            (query("release_probe_settings"), {})])
    except psycopg.Error:
        if conn.broken:
            raise
        return None
    answers = (row["answers"] or "").split(";")
    if len(answers) != len(PROBES):
        return None
    return ([_accepted(a) for a in answers],
            (settings["match_dom_and_dow"], settings["readable"]))


async def probe_step_by_step(conn: psycopg.AsyncConnection, opts: ConnectOptions,
                              ) -> tuple[list[bool], tuple[str | None, bool]]:
    """PROBES asked one at a time, each in a savepoint, in a transaction rolled back."""
    async with transaction(conn, opts, force_rollback=True):
        prober = _Prober(conn, opts)
        accepted = [await prober.accepts(schedule) for schedule in PROBES]
        async with conn.cursor() as cur:
            await cur.execute(query("release_probe_settings"))
            match_setting, readable = await cur.fetchone() or (None, False)
    return accepted, (match_setting, readable)


async def probe_release(conn: psycopg.AsyncConnection, opts: ConnectOptions,
                        extversion: str) -> PgCronRelease:
    """The release as closely as the probes tell, nothing written. In a read-only session
    too: pg_cron parses a schedule before it writes, and the server refuses the write. One
    round trip where PL/pgSQL is there (a bastion host 30 ms away waits 30 ms, not 20 round
    trips), else step by step."""
    try:
        probed = await probe_in_one_trip(conn, opts)
        if probed is None:
            probed = await probe_step_by_step(conn, opts)
    except _Inconclusive:
        return from_extversion(extversion)
    (seconds, dollar, big_step), (match_setting, readable) = probed
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

