"""`cronjobs-tui runs`: recent runs as a table, CSV or JSON (messages masked)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import Any

from tui.cli import types
from tui.cli.options import options_from, pg_cron_facts
from tui.cli.output import OK, print_table
from tui.cli.resolve import resolve_job
from tui.db import Database
from tui.export import run_records, write_runs
from tui.models import Job, ServerFacts
from tui.text import one_line

RUN_FORMATS = ("table", "csv", "json")
#: The statuses pg_cron writes in cron.job_run_details (connecting and sending only without
#: background workers).
RUN_STATUSES = ("starting", "connecting", "sending", "running", "succeeded", "failed")


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    runs = subparsers.add_parser("runs", parents=[connection_parent], add_help=False,
                                 help="list recent runs")
    runs.add_argument("--json", action="store_true", help="a JSON array (= --format json)")
    runs.add_argument("--format", choices=RUN_FORMATS, default=None,
                      help="table (default), csv or json; messages are masked")
    runs.add_argument("--job", metavar="JOB", type=types.job_ref,
                      help="only this job (name or #id)")
    # A typo must not read as "no failures": unknown values exit 2 and list the valid ones.
    runs.add_argument("--status", choices=RUN_STATUSES, metavar="STATUS",
                      help=f"only runs with this status: {', '.join(RUN_STATUSES)}")
    runs.add_argument("--limit", type=types.whole(1, 100_000), default=50,
                      help="how many runs, 1-100000 (default 50)")
    runs.add_argument("--help", action="help")
    runs.set_defaults(handler=cmd_runs)


def _status_cell(record: dict[str, Any]) -> str:
    """pg_cron's status, then pg_net's answer for HTTP runs: `succeeded → HTTP 500`."""
    status = record["status"] or "-"
    if "http_status" not in record or record.get("http_note") is None:
        return status
    if record["http_status"] is not None:
        return f"{status} → HTTP {record['http_status']}"
    if record["http_error"] is not None:
        return f"{status} → {one_line(record['http_error'])}"
    return f"{status} → HTTP ?"


async def cmd_runs(args: argparse.Namespace) -> int:
    from tui.db import insight as reads

    db = Database(options_from(args))
    fmt = "json" if args.json else (args.format or "table")
    try:
        facts = await pg_cron_facts(db)
        # The jobs, read once: for JOB, pg_net's answers (json, table) and the lags (json).
        jobs: list[Job] = []
        if args.job:
            jobs = await db.jobs(indexed=False)
            jobid = resolve_job(args.job, jobs, facts).jobid
            runs = await db.runs_recent(limit=args.limit, jobid=jobid, status=args.status)
        elif fmt in ("json", "table"):  # the runs and the jobs in one round trip
            runs_rows, jobs_rows = map(reads.rows_of, await reads.read_together(db, [
                reads.runs_recent_read(limit=args.limit, status=args.status),
                reads.jobs_read(False)]))
            runs, jobs = reads.runs_of(runs_rows), reads.jobs_of(jobs_rows)
        else:
            runs = await db.runs_recent(limit=args.limit, status=args.status)
        outcomes = None
        if fmt in ("json", "table"):
            from tui.http_jobs.outcome import http_outcomes

            outcomes = await http_outcomes(db, runs, jobs, current_database=facts.database,
                                           now=facts.now)
        lags = _run_lags(facts, runs, jobs) if fmt == "json" else None
    finally:
        await db.close()
    out = run_records(runs, outcomes)
    if fmt != "table":
        write_runs(runs, fmt, sys.stdout, outcomes, lags=lags)
        return OK
    print_table([[str(o["runid"]), one_line(o["jobname"] or f"#{o['jobid']}"),
                  _status_cell(o), o["start_time"] or "-",
                  one_line(o["return_message"])] for o in out],
                ["RUNID", "JOB", "STATUS", "START", "MESSAGE"], wrap=(1, 2, 4))
    return OK


def _run_lags(facts: ServerFacts, runs: Sequence[Any], jobs: Sequence[Job],
              ) -> dict[int, float | None]:
    """Each run's start lag (tui/insight/lag), from its job's schedule in the scheduler's zone."""
    from tui.insight.lag import is_manual, lag_of

    schedules = {j.jobid: j.schedule for j in jobs}
    version = facts.pg_cron_grammar or "1.6"
    return {r.runid: lag_of(schedules[r.jobid], r.start_time, facts.scheduler_timezone,
                            version)
            if r.jobid in schedules and not is_manual(r.return_message) else None
            for r in runs}
