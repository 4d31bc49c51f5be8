"""`cronjobs-tui jobs [--json]`: the jobs, with their next and last runs."""

from __future__ import annotations

import argparse
from typing import Any

from tui import rules
from tui.cli.options import options_from, pg_cron_facts
from tui.cli.output import OK, print_json, print_table
from tui.db import Database, DatabaseError
from tui.db import insight as reads
from tui.export import job_records
from tui.format import not_in_lookback
from tui.text import one_line


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    jobs = subparsers.add_parser("jobs", parents=[connection_parent], add_help=False,
                                 help="list jobs")
    jobs.add_argument("--json", action="store_true", help="a JSON array")
    jobs.add_argument("--help", action="help")
    jobs.set_defaults(handler=cmd_jobs)


async def cmd_jobs(args: argparse.Namespace) -> int:
    db = Database(options_from(args))
    try:
        facts = await pg_cron_facts(db)
        # The jobs and their usual durations in one round trip.
        jobs_rows, recent = await reads.read_together(db, [
            reads.jobs_read(facts.has_run_index), reads.recent_read()])
        jobs = reads.jobs_of(reads.rows_of(jobs_rows))  # an unfinished last run judged
        # Refused: the stuck floor applies, as for a job with no earlier run.
        usuals = {} if isinstance(recent, DatabaseError) else rules.usuals_from_rows(recent)
    finally:
        await db.close()
    out = job_records(jobs, facts)
    for record, job in zip(out, jobs):  # null, failing, stuck, orphaned or paused: the one rule
        record["problem"] = rules.problem(job, facts.now, usuals.get(job.jobid))
    if args.json:
        print_json(out)
        return OK
    tz = facts.scheduler_timezone or "unknown zone"
    print_table([[str(o["jobid"]), one_line(o["jobname"] or ""), one_line(o["schedule"]),
                  "active" if o["active"] else "paused", o["next_run"] or "-",
                  o["last_status"] or ("-" if j.last_run_known
                                       else not_in_lookback(j.last_run_lookback or 0))]
                 for o, j in zip(out, jobs)],
                ["ID", "NAME", "SCHEDULE", "STATE", f"NEXT RUN ({tz})", "LAST"], wrap=(1, 2))
    return OK
