"""`cronjobs-tui schedule EXPR`: is this a schedule pg_cron accepts, what does it mean, and
when would it fire?

Offline (the default) the answer is ours (tui.cron) for the pg_cron version given with
--pg-cron. With a server (any of -d/-h/-p/-U, or --server to use the PG* variables,
pg_service.conf and .pgpass as psql does) the server supplies its pg_cron version, the
scheduler's time zone, its clock, and its own verdict, which wins over ours.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from tui.cli import types
from tui.cron import (
    UnknownZone,
    check,
    describe,
    is_version,
    next_runs,
    parse,
    parse_version,
    resolve_zone,
    split_dialect,
    with_dom_and_dow,
    yearly_never_fires,
)
from tui.cron.standard import Comparison, compare
from tui.text import inert

VERSIONS = ("1.4", "1.5", "1.6")
DEFAULT_VERSION = "1.6"
DEFAULT_ZONE = "UTC"
MAX_COUNT = 1000

EPILOG = """\
offline (default): the verdict, description and next runs are computed here for the pg_cron
  version of --pg-cron (default 1.6), in --timezone (default UTC), from --from (default: this
  machine's clock).

server mode: given any of -d/-h/-p/-U, or --server (connect as psql would with no options:
  PG* variables, pg_service.conf, .pgpass), the server is asked for its pg_cron version, the
  scheduler's time zone (cron.timezone; always UTC on pg_cron 1.4), its clock (the default
  for --from) and its own verdict, which wins. --pg-cron and --timezone conflict with server
  mode. If the role may not read cron.timezone, no next runs are given (the zone is never
  guessed). The check runs cron.schedule in a transaction that is rolled back: nothing is
  saved, though a valid schedule uses up one value of cron.jobid_seq.

output: the verdict, the description, warnings and next runs (in the zone, which is named).
  --json prints an object with exactly the keys valid, error, description, next_runs (ISO 8601
  with UTC offset), warnings (a list; for an invalid schedule the hint comes first) and
  standard_cron. error is pg_cron's own message, 'invalid schedule: EXPR', or null.

standard cron: the same schedule as ordinary cron reads it (croniter: POSIX's either-day
  rule, wrapping ranges, MON#1 as the first Monday). When its runs differ from pg_cron's, a
  warning says why and both readings' next runs are shown side by side. standard_cron is null
  (invalid, @reboot) or an object: differs, reasons, next_runs (ordinary cron's, wall-clock
  times in the zone) and error (why ordinary cron does not read it, or null).

exit status: 0 valid, 1 invalid, 2 usage or connection error."""


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "schedule", parents=[connection_parent], add_help=False,
        help="check a schedule, describe it and list its next runs",
        description="Check a pg_cron schedule, describe it and list when it would fire.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("expr", metavar="EXPR",
                   help="the schedule, e.g. '*/5 * * * *', '@daily' or '30 seconds' "
                        "(put -- before it if it starts with '-')")
    p.add_argument("--pg-cron", type=_version, default=None, metavar="VERSION",
                   help="offline: the pg_cron line (1.4, 1.5, 1.6) or release (1.6.4, 1.6.5) "
                        "to judge for (default 1.6, judged as its newest release)")
    p.add_argument("--match-dom-and-dow", action="store_true",
                   help="offline: as a server with cron.match_dom_and_dow on (pg_cron after "
                        "1.6.7): both day fields must match")
    p.add_argument("--timezone", metavar="TZ", default=None,
                   help="offline: the scheduler's zone, as cron.timezone (default UTC; pg_cron "
                        "1.4 always uses UTC, and the runs are then only shown in TZ)")
    p.add_argument("--from", dest="start", metavar="ISO8601", default=None, type=_from,
                   help="list runs after this instant (default now, the server's in server "
                        "mode); without an offset it is a wall-clock time in the zone")
    p.add_argument("--count", type=types.whole(0, MAX_COUNT), default=5, metavar="N",
                   help=f"how many next runs, 0-{MAX_COUNT} (default 5)")
    p.add_argument("--server", action="store_true",
                   help="ask the server given by PG* variables/pg_service.conf even without "
                        "-d/-h/-p/-U")
    p.add_argument("--json", action="store_true", help="a JSON object")
    p.add_argument("--help", action="help", help="show this help and exit")
    p.set_defaults(handler=run)


def _version(text: str) -> str:
    if not is_version(text) or ".".join(text.split(".")[:2]) not in VERSIONS:
        raise argparse.ArgumentTypeError(
            f"not a pg_cron line ('1.4', '1.5', '1.6') or release (e.g. '1.6.4'): {text!r}")
    return text


def _from(text: str) -> str:
    """Checked as every instant is (tui/cli/types.py), read in the zone later."""
    types.instant(text)
    return text


class UsageError(Exception):
    """Bad option values: reported like argparse's own errors, exit status 2."""


@dataclass
class Answer:
    valid: bool
    error: str | None
    description: str | None
    next_runs: list[datetime]
    warnings: list[str] = field(default_factory=list)
    hint: str | None = None  # why it is invalid; first of the JSON warnings
    # Only for the human output:
    version: str = DEFAULT_VERSION
    zone: str | None = DEFAULT_ZONE
    server: str | None = None
    standard: Comparison | None = None  # ordinary cron's reading (tui.cron.standard)

    def as_json(self) -> dict[str, Any]:
        c = self.standard
        return {
            "valid": self.valid,
            "error": self.error,
            "description": self.description,
            "next_runs": [r.isoformat() for r in self.next_runs],
            "warnings": ([self.hint] if self.hint else []) + list(self.warnings),
            "standard_cron": None if c is None else {
                "differs": c.differs, "reasons": list(c.reasons),
                "next_runs": [r.isoformat() for r in c.standard], "error": c.standard_error},
        }


# -- inputs ---------------------------------------------------------------------------


def server_mode(args: argparse.Namespace) -> bool:
    return bool(args.server or args.dbname or args.host or args.port or args.username)


def _zone(name: str) -> tzinfo:
    try:
        return resolve_zone(name)
    except UnknownZone as exc:
        raise UsageError(shown(str(exc))) from exc


def _always_utc(zone: tzinfo) -> bool:
    return all(datetime(2026, month, 1, tzinfo=timezone.utc).astimezone(zone).utcoffset()
               == timedelta(0) for month in (1, 7))


def _instant(text: str, zone: tzinfo) -> datetime:
    raw = text.strip()
    if raw.endswith(("Z", "z")):
        raw = raw[:-1] + "+00:00"
    try:
        value = datetime.fromisoformat(raw)
    except ValueError as exc:
        raise UsageError(f"--from is not an ISO 8601 date and time: {shown(text)}") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value


def shown(text: str) -> str:
    """Text made inert and kept on one line: controls, newlines and tabs as escapes."""
    return inert(text).replace("\n", "\\n").replace("\t", "\\t")


# -- the answer -----------------------------------------------------------------------


def _runs(expr: str, version: str, zone_name: str, start: datetime, count: int,
          warnings: list[str]) -> list[datetime]:
    """Next runs as pg_cron `version` evaluates them, shown in `zone_name`."""
    shown_zone = _zone(zone_name)
    evaluated = shown_zone
    if parse_version(version) == "1.4" and not _always_utc(shown_zone):
        evaluated = timezone.utc
        warnings.append("pg_cron 1.4 evaluates schedules in UTC (cron.timezone needs 1.5): "
                        f"the runs are UTC schedule times shown in {zone_name}.")
    schedule = parse(expr, version)
    if schedule is not None and schedule.kind == "seconds":
        warnings.append("An interval counts from the start of the previous run; these runs "
                        "assume the job was created at the start time (--from, or now): "
                        f"pg_cron starts its first run about {schedule.seconds} s after it "
                        "learns of the job.")
    if schedule is not None and schedule.kind == "reboot":
        warnings.append("It runs only when the pg_cron scheduler starts, never on a clock.")
    return [r.astimezone(shown_zone) for r in
            next_runs(expr, start, evaluated, count, version=version)]


def _standard(expr: str, version: str, zone_name: str, start: datetime, count: int,
              warnings: list[str]) -> Comparison | None:
    """Ordinary cron's reading beside pg_cron's; a warning when they part ways."""
    if parse_version(version) == "1.4" and not _always_utc(_zone(zone_name)):
        zone_name = "UTC"  # as _runs: 1.4 evaluates in UTC
    found = compare(expr, start, _zone(zone_name), count, version=version)
    if found is not None and found.differs:
        # @yearly on 1.6 was warned of by the verdict already: said once is enough.
        schedule = parse(expr, version)
        macro = schedule.macro if schedule is not None else None
        said = f"@{macro} " if yearly_never_fires(macro, version) else None
        reasons = [r for r in found.reasons if not (said and r.startswith(said))]
        if reasons:
            warnings.append("Ordinary cron would run it differently: " + " ".join(reasons))
    return found


def offline(args: argparse.Namespace) -> Answer:
    version = with_dom_and_dow(args.pg_cron or DEFAULT_VERSION, args.match_dom_and_dow)
    zone_name = args.timezone or DEFAULT_ZONE
    zone = _zone(zone_name)
    start = _instant(args.start, zone) if args.start else datetime.now(timezone.utc)
    verdict = check(args.expr, version)
    if not verdict.valid:
        return Answer(False, verdict.error, None, [], hint=verdict.hint,
                      version=version, zone=zone_name)
    warnings = list(verdict.warnings)
    runs = _runs(args.expr, version, zone_name, start, args.count, warnings)
    standard = _standard(args.expr, version, zone_name, start, args.count, warnings)
    return Answer(True, None, describe(args.expr, version), runs, warnings,
                  version=version, zone=zone_name, standard=standard)


async def online(args: argparse.Namespace) -> Answer:
    from tui.cli.options import options_from
    from tui.db import Database, DatabaseError
    from tui.db.actions import INSUFFICIENT_PRIVILEGE, check_schedule
    from tui.db.client import require_pg_cron

    if args.pg_cron or args.timezone or args.match_dom_and_dow:
        given = ("--pg-cron" if args.pg_cron else "--timezone" if args.timezone
                 else "--match-dom-and-dow")
        raise UsageError(f"{given} is for offline use: in server mode the server's pg_cron "
                         "version and cron.timezone decide")
    if args.start:
        _instant(args.start, timezone.utc)  # a malformed --from fails before connecting
    db = Database(options_from(args))
    try:
        facts = await db.facts()
        require_pg_cron(facts)
        warnings: list[str] = []
        try:
            server_error = await check_schedule(db, args.expr)
            asked = True
        except DatabaseError as exc:
            if exc.sqlstate != INSUFFICIENT_PRIVILEGE:
                raise
            server_error, asked = None, False
            warnings.append(f"This role may not call cron.schedule ({shown(str(exc))}): the "
                            "verdict is ours, not the server's.")
    finally:
        await db.close()

    version = facts.pg_cron_grammar or DEFAULT_VERSION
    where = f"{facts.server_addr}:{facts.server_port}" if facts.server_port else facts.server_addr
    verdict = check(args.expr, version)
    valid = server_error is None if asked else verdict.valid
    if asked and verdict.valid != valid:
        warnings.append(
            f"Our own check for pg_cron {version} says {'valid' if verdict.valid else 'invalid'}"
            f"; the server's verdict ({'valid' if valid else 'invalid'}) wins. Please report it.")
    if facts.scheduler_alive is False:  # None: this role may not see the launcher
        warnings.append("The pg_cron scheduler is not running on this server: no job fires "
                        "until it starts.")
    zone_name = facts.scheduler_timezone
    if not valid:
        error = verdict.error or f"invalid schedule: {args.expr}"
        if asked and server_error and not server_error.startswith(error):
            error = server_error  # some other refusal: show the server's words
        hint = verdict.hint if not verdict.valid else None
        return Answer(False, error, None, [], warnings, hint=hint,
                      version=version, zone=zone_name, server=where)
    if not verdict.valid:  # the server accepts what we do not understand: say only that
        warnings.append("No description or next runs: tui.cron does not understand it.")
        return Answer(True, None, None, [], warnings, version=version, zone=zone_name,
                      server=where)
    warnings = list(verdict.warnings) + warnings
    runs: list[datetime] = []
    standard = None
    if zone_name is None:
        warnings.append("This role may not read cron.timezone (needs superuser or "
                        "pg_read_all_settings), so the scheduler's time zone is unknown: no "
                        "next runs.")
    else:
        try:
            start = _instant(args.start, _zone(zone_name)) if args.start else facts.now
            runs = _runs(args.expr, version, zone_name, start, args.count, warnings)
            standard = _standard(args.expr, version, zone_name, start, args.count, warnings)
        except UsageError:
            warnings.append(f"The scheduler's time zone {shown(zone_name)!s} is unknown here: "
                            "no next runs.")
    return Answer(True, None, describe(args.expr, version), runs, warnings,
                  version=version, zone=zone_name, server=where, standard=standard)


# -- output ---------------------------------------------------------------------------


def human_lines(expr: str, a: Answer) -> list[str]:
    """The answer for a person: the verdict, warnings, then the next runs."""
    release, and_days = split_dialect(a.version)
    judged = f"pg_cron {release}" + (" with cron.match_dom_and_dow on" if and_days else "")
    judge = f"the server ({shown(a.server)}, {judged})" if a.server else judged
    lines: list[str] = []
    if a.valid:
        lines.append(f"valid: {judge} accepts '{shown(expr)}'")
        if a.description:
            lines.append(f"  {shown(a.description)}")
    else:
        lines.append(f"invalid: {judge} rejects it: {shown(a.error or '')}")
    if a.hint:
        lines.append(f"  hint: {shown(a.hint)}")
    lines.extend(f"  warning: {shown(w)}" for w in a.warnings)
    if not a.valid or a.description is None:
        return lines
    if a.zone is None:
        lines.append("next runs: unknown (the scheduler's time zone is unknown)")
    elif a.standard is not None and a.standard.differs:
        lines.extend(_side_by_side(a.zone, a.next_runs, a.standard))
    elif a.next_runs:
        lines.append(f"next runs ({shown(a.zone)}):")
        lines.extend(f"  {r.isoformat()}  {r.strftime('%a')}" for r in a.next_runs)
    else:
        lines.append(f"next runs ({shown(a.zone)}): none")
    return lines


def _side_by_side(zone: str, ours: list[datetime], standard: Comparison) -> list[str]:
    """Both readings' next runs in two columns, each under its own heading."""
    def run(r: datetime) -> str:
        return f"{r.isoformat()} {r.strftime('%a')}"

    theirs = list(standard.standard)
    rows = []
    for i in range(max(len(ours), len(theirs), 1)):
        left = run(ours[i]) if i < len(ours) else ("none" if i == 0 else "")
        if i < len(theirs):
            right = run(theirs[i])
        else:
            right = "" if i else (f"does not read it ({shown(standard.standard_error)})"
                                  if standard.standard_error else "none")
        rows.append((left, right))
    width = max(len("pg_cron"), *(len(left) for left, _ in rows))
    return [f"next runs ({shown(zone)}):", f"  {'pg_cron':<{width}} | ordinary cron",
            *(f"  {left:<{width}} | {right}".rstrip() for left, right in rows)]


async def run(args: argparse.Namespace) -> int:
    from tui.cli.output import FOUND, OK, REFUSED, print_json, print_lines

    try:
        answer = await online(args) if server_mode(args) else offline(args)
    except UsageError as exc:
        print(f"cronjobs-tui schedule: error: {exc}", file=sys.stderr)
        return REFUSED
    if args.json:
        print_json(answer.as_json())
    else:
        print_lines(human_lines(args.expr, answer))
    return OK if answer.valid else FOUND

