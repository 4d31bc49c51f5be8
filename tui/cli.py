"""The `cronjobs-tui` command: the TUI by default, and subcommands for scripts."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

import tui
from tui import config
from tui.db import ConnectOptions, Database, DatabaseError
from tui.format import not_in_lookback
from tui.models import ServerFacts
from tui.sandbox import SandboxError
from tui.secrets import mask
from tui.text import InertWriter, inert, one_line


def _connection_parser(*, suppress: bool = False) -> argparse.ArgumentParser:
    """The connection options. Given `suppress`, an option left out sets nothing: the copy
    that each subcommand takes must not overwrite what was given before the subcommand
    (`cronjobs-tui -h db jobs`), since argparse applies a subparser's defaults last."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parent = argparse.ArgumentParser(add_help=False)
    conn = parent.add_argument_group("connection (as psql, before or after the command; empty "
                                     "options fall back to PG* variables, pg_service.conf "
                                     "and .pgpass)")
    conn.add_argument("-d", "--dbname", default=default(None),
                      help="database name, conninfo string or URI")
    conn.add_argument("-h", "--host", default=default(None),
                      help="server host or socket directory")
    conn.add_argument("-p", "--port", default=default(None), help="server port")
    conn.add_argument("-U", "--username", default=default(None), help="role to connect as")
    conn.add_argument("--read-only", action="store_true", default=default(False),
                      help="no mutating actions, and a read-only session at the server")
    conn.add_argument("--statement-timeout", type=int, default=default(None), metavar="MS",
                      help="per-query timeout in milliseconds (default 5000, or the config's)")
    _config_option(conn, suppress=suppress)
    conn.add_argument("--profile", action="append", default=default(None), metavar="NAME",
                      help="a named connection from the config's [profiles.NAME] (default: "
                           "$CRONJOBS_TUI_PROFILE); -d/-h/-p/-U override its dsn; give it "
                           "several times for the fleet view")
    return parent


def _config_option(group: Any, *, suppress: bool) -> None:
    group.add_argument("--config", metavar="FILE",
                       default=argparse.SUPPRESS if suppress else None,
                       help="settings file (default: $CRONJOBS_TUI_CONFIG or the platform's "
                            "config dir)/config.toml")


def settings_from(args: argparse.Namespace) -> config.Settings:
    """The config's settings, with the one profile asked for (--profile or the environment)
    applied."""
    profiles = getattr(args, "profile", None) or []
    if len(profiles) > 1:
        raise config.ConfigError(f"--profile was given {len(profiles)} times: this takes one "
                                 "(several open the fleet view: cronjobs-tui --profile A "
                                 "--profile B)")
    return config.load(args.config, profile=profiles[0] if profiles else None)


def options_from(args: argparse.Namespace) -> ConnectOptions:
    settings = settings_from(args)
    dsn = args.dbname or (settings.profile.dsn if settings.profile else None)
    return ConnectOptions(dbname=dsn, host=args.host, port=args.port,
                          user=args.username, read_only=args.read_only or settings.read_only,
                          statement_timeout_ms=args.statement_timeout
                          or settings.statement_timeout_ms)


def build_parser() -> argparse.ArgumentParser:
    conn = _connection_parser(suppress=True)
    parser = argparse.ArgumentParser(
        prog="cronjobs-tui", parents=[_connection_parser()], add_help=False,
        description="A terminal UI for PostgreSQL's pg_cron.")
    parser.add_argument("--help", action="help", help="show this help and exit")
    parser.add_argument("--version", action="version", version=f"%(prog)s {tui.version()}",
                        help="print the version and exit (connects to nothing)")
    parser.add_argument("--fleet", action="store_true",
                        help="open the fleet view: every profile of the config (or those "
                             "named with --profile) at once")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    jobs = sub.add_parser("jobs", parents=[conn], add_help=False, help="list jobs")
    jobs.add_argument("--json", action="store_true", help="a JSON array")
    jobs.add_argument("--help", action="help")

    runs = sub.add_parser("runs", parents=[conn], add_help=False, help="list recent runs")
    runs.add_argument("--json", action="store_true", help="a JSON array (= --format json)")
    runs.add_argument("--format", choices=RUN_FORMATS, default=None,
                      help="table (default), csv or json; messages are masked")
    runs.add_argument("--job", metavar="NAME", help="only this job (name or #id)")
    # A typo must not read as "no failures": unknown values exit 2 and list the valid ones.
    runs.add_argument("--status", choices=RUN_STATUSES, metavar="STATUS",
                      help=f"only runs with this status: {', '.join(RUN_STATUSES)}")
    runs.add_argument("--limit", type=_positive, default=50, help="how many runs (default 50)")
    runs.add_argument("--help", action="help")

    # The demo starts its own cluster: it takes no connection options, only the config.
    demo = sub.add_parser("demo", add_help=False,
                          help="start the embedded demo cluster and open the TUI on it")
    _config_option(demo, suppress=True)
    demo.add_argument("--print-dsn", action="store_true",
                      help="start it, print its connection URI and leave it running")
    demo.add_argument("--stop", action="store_true", help="stop a demo cluster left running")
    demo.add_argument("--help", action="help")

    # Subcommands that live in their own modules: each adds its parser and sets `handler`.
    from importlib import import_module

    for name in PLUGGED:
        import_module(name).register(sub, conn)
    return parser


# -- output ------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def print_json(data: Any) -> None:
    # ensure_ascii keeps C1 controls and bidi overrides escaped, so output stays inert.
    print(json.dumps(data, indent=2, ensure_ascii=True))


def print_table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip())
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


# -- subcommands ---------------------------------------------------------------------

async def _facts(db: Database) -> ServerFacts:
    from tui.db.client import require_pg_cron

    facts = await db.facts()
    require_pg_cron(facts)
    return facts


async def cmd_jobs(args: argparse.Namespace) -> int:
    from tui.cron import NextRunCache
    from tui.schedules import next_run, schedule_warnings

    db = Database(options_from(args))
    try:
        facts = await _facts(db)
        jobs = await db.jobs(indexed=facts.has_run_index)
    finally:
        await db.close()
    cache = NextRunCache()
    out = [{
        "jobid": j.jobid, "jobname": j.jobname, "schedule": j.schedule,
        "command": mask(j.command), "database": j.database, "username": j.username,
        "active": j.active, "next_run": _iso(next_run(j, facts, cache)),
        "last_status": j.last_status, "last_start": _iso(j.last_start),
        "warnings": schedule_warnings(j, facts),
        # False: no run among the newest runs searched (no index), so null is not "never".
        "last_run_known": j.last_run_known,
    } for j in jobs]
    if args.json:
        print_json(out)
        return 0
    tz = facts.scheduler_timezone or "unknown zone"
    print_table([[str(o["jobid"]), one_line(o["jobname"] or "", 30), one_line(o["schedule"], 20),
                  "active" if o["active"] else "paused", o["next_run"] or "-",
                  o["last_status"] or ("-" if j.last_run_known
                                       else not_in_lookback(j.last_run_lookback or 0))]
                 for o, j in zip(out, jobs)],
                ["ID", "NAME", "SCHEDULE", "STATE", f"NEXT RUN ({tz})", "LAST"])
    return 0


def _status_cell(record: dict[str, Any]) -> str:
    """pg_cron's status, then pg_net's answer for HTTP runs: `succeeded → HTTP 500`."""
    status = record["status"] or "-"
    if "http_status" not in record or record.get("http_note") is None:
        return status
    if record["http_status"] is not None:
        return f"{status} → HTTP {record['http_status']}"
    if record["http_error"] is not None:
        return f"{status} → {one_line(record['http_error'], 30)}"
    return f"{status} → HTTP ?"


async def cmd_runs(args: argparse.Namespace) -> int:
    db = Database(options_from(args))
    try:
        facts = await _facts(db)
        jobid = None
        if args.job:
            jobid = _find_job(args.job, await db.jobs(indexed=False))
        runs = await db.runs_recent(limit=args.limit, jobid=jobid, status=args.status)
        fmt = "json" if args.json else (args.format or "table")
        outcomes = None
        if fmt in ("json", "table"):
            from tui.outcome import http_outcomes

            outcomes = await http_outcomes(db, runs, await db.jobs(indexed=False),
                                           current_database=facts.database, now=facts.now)
        lags = await _run_lags(db, facts, runs) if fmt == "json" else None
    finally:
        await db.close()
    out = run_records(runs, outcomes)
    if fmt != "table":
        write_runs(runs, fmt, sys.stdout, outcomes, lags=lags)
        return 0
    print_table([[str(o["runid"]), one_line(o["jobname"] or f"#{o['jobid']}", 30),
                  _status_cell(o), o["start_time"] or "-",
                  one_line(o["return_message"], 60)] for o in out],
                ["RUNID", "JOB", "STATUS", "START", "MESSAGE"])
    return 0


async def _run_lags(db: Database, facts: ServerFacts, runs: Sequence[Any],
                    ) -> dict[int, float | None]:
    """Each run's start lag (tui/insight/lag), from its job's schedule in the scheduler's zone."""
    from tui.insight.lag import is_manual, lag_of

    schedules = {j.jobid: j.schedule for j in await db.jobs(indexed=False)}
    version = facts.pg_cron_grammar or "1.6"
    return {r.runid: lag_of(schedules[r.jobid], r.start_time, facts.scheduler_timezone,
                            version)
            if r.jobid in schedules and not is_manual(r.return_message) else None
            for r in runs}


RUN_FORMATS = ("table", "csv", "json")
#: The statuses pg_cron writes in cron.job_run_details (connecting and sending only without
#: background workers).
RUN_STATUSES = ("starting", "connecting", "sending", "running", "succeeded", "failed")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value
RUN_KEYS = ("runid", "jobid", "jobname", "status", "return_message", "start_time", "end_time")


def run_records(runs: Sequence[Any], outcomes: dict[int, Any] | None = None,
                lags: dict[int, float | None] | None = None) -> list[dict[str, Any]]:
    """Runs as plain records for export: messages masked, times in ISO 8601. With `outcomes`
    (tui.outcome), also pg_net's answer to HTTP runs: http_status, http_error (masked, inert)
    and http_note (null for runs that are not HTTP runs, "" when matched, else why not)."""
    records = [{
        "runid": r.runid, "jobid": r.jobid, "jobname": r.jobname, "status": r.status,
        "return_message": mask(r.return_message), "start_time": _iso(r.start_time),
        "end_time": _iso(r.end_time),
    } for r in runs]
    if outcomes is not None:
        for record in records:
            got = outcomes.get(record["runid"])
            record["http_status"] = got.status if got else None
            record["http_error"] = inert(mask(got.error)) if got and got.error else None
            record["http_note"] = got.note if got else None
    if lags is not None:  # start lag in seconds; null: no scheduled minute (interval job)
        for record in records:
            record["lag_s"] = lags.get(record["runid"])
    return records


#: A spreadsheet opening the CSV runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: Any) -> Any:
    """Job names and run messages are written by whoever may schedule a job: inert (a CSV
    is also read with `cat`), and a leading quote keeps '=HYPERLINK(...)' text in a
    spreadsheet (the OWASP advice for CSV)."""
    if isinstance(value, str):
        value = inert(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_runs(runs: Sequence[Any], fmt: str, out: Any,
               outcomes: dict[int, Any] | None = None,
               lags: dict[int, float | None] | None = None) -> None:
    """Runs to `out` (a text stream) as CSV (a header row, then one row a run) or as a
    JSON array; every message masked. Used by `runs --format` and the TUI's export."""
    if fmt == "json":
        records = run_records(runs, outcomes, lags)
    else:
        records = run_records(runs)
    if fmt == "json":
        out.write(json.dumps(records, indent=2, ensure_ascii=True) + "\n")
    elif fmt == "csv":
        import csv

        writer = csv.DictWriter(out, fieldnames=RUN_KEYS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: inert_cell(v) for k, v in r.items()} for r in records)
    else:
        raise ValueError(f"unknown export format {fmt!r}")


def _find_job(wanted: str, jobs: Sequence[Any]) -> int:
    for job in jobs:
        if job.jobname == wanted or f"#{job.jobid}" == wanted or str(job.jobid) == wanted:
            return job.jobid
    raise DatabaseError(f"no job named {wanted!r} is visible to this role")


def cmd_demo(args: argparse.Namespace) -> int:
    from tui import demo

    given = [flag for flag, value in (("-d", args.dbname), ("-h", args.host), ("-p", args.port),
                                      ("-U", args.username), ("--profile", args.profile))
             if value]
    if given:
        raise config.ConfigError(f"demo starts its own cluster and takes no {', '.join(given)}: "
                                 "run 'cronjobs-tui demo --print-dsn' to connect to it")
    if args.stop:
        return demo.stop()
    if args.print_dsn:
        print(demo.start().uri())
        return 0
    return demo.run_tui(config.load(args.config))


def cmd_tui(args: argparse.Namespace) -> int:
    from tui.app import CronJobsApp

    if args.fleet or len(args.profile or []) > 1:
        from tui.fleet import fleet_settings

        settings, names = fleet_settings(args.config, args.profile or [])
        CronJobsApp(ConnectOptions(read_only=True), settings, fleet=names).run()
        return 0
    CronJobsApp(options_from(args), settings_from(args)).run()
    return 0


#: Modules with `register(subparsers, connection_parent)` for their own subcommand.
PLUGGED: list[str] = ["tui.schedule_cmd", "tui.doctor", "tui.http_cmd", "tui.plan_cmd",
                       "tui.bench", "tui.run_cmd", "tui.insight.commands"]

COMMANDS: dict[str | None, Callable[[argparse.Namespace], Any]] = {
    None: cmd_tui,
    "jobs": cmd_jobs,
    "runs": cmd_runs,
    "demo": cmd_demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "handler", None) or COMMANDS[args.command]
    saved = sys.stdout, sys.stderr
    if args.command not in (None, "demo"):
        # What a subcommand prints is database text: through the one rule (tui/text.py),
        # whatever prints it, errors included.
        sys.stdout, sys.stderr = InertWriter(sys.stdout), InertWriter(sys.stderr)
    try:
        result = handler(args)
        if asyncio.iscoroutine(result):
            result = asyncio.run(result)
        return int(result or 0)
    except (DatabaseError, SandboxError, config.ConfigError) as exc:
        print(f"cronjobs-tui: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        sys.stdout, sys.stderr = saved
