"""`cronjobs-tui explain` and `timeline`."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from tui.cli import types
from tui.cli.options import options_from, pg_cron_facts
from tui.cli.output import OK, print_json, print_lines, print_table, terminal_width
from tui.db import Database

if TYPE_CHECKING:
    from tui.insight.gather import Explained
    from tui.models import Job, ServerFacts


async def cmd_explain(args: argparse.Namespace) -> int:
    from tui.audit import AuditLog
    from tui.audit import default_path as audit_path
    from tui.cli.resolve import resolve_job
    from tui.cron import resolve_zone
    from tui.insight.gather import explain_job, zone_of
    from tui.masking import mask

    db = Database(options_from(args))
    try:
        facts = await pg_cron_facts(db)
        job = resolve_job(args.job, await db.jobs(indexed=facts.has_run_index), facts)
        zone_name = zone_of(facts)
        since = args.since.resolve(facts.now, resolve_zone(zone_name)) if args.since else None
        result = await explain_job(db, facts, job, since,
                                   AuditLog(audit_path()).tail(1_000_000))
    finally:
        await db.close()
    zone = resolve_zone(result.zone)
    # In the scheduler's zone, with its offset: a repeated hour's two times stay apart.
    records = [{**o.as_dict(), "scheduled": o.scheduled.astimezone(zone).isoformat(),
                "reason": mask(o.reason)} for o in result.outcomes]
    if args.json:
        print_json(records)
        return OK
    said = args.since.note(zone_name) if args.since else None
    _print_explain(job, facts, result, records, every=args.all, said=said)
    return OK


def _print_explain(job: Job, facts: ServerFacts, result: Explained,
                   records: list[dict[str, Any]], *, every: bool,
                   said: str | None = None) -> None:
    """explain's text: a heading, the counts, and a table of what was not on time (`every`:
    of every time), each reason whole, wrapped to the terminal."""
    from tui.text import one_line

    heading = [f"{one_line(job.label)} {job.schedule!r} in {result.zone}, "
               f"{result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} "
               f"(server time {facts.now:%Y-%m-%d %H:%M %Z})"]
    for note in (said, result.note):  # said: how --since was read
        if note:
            heading.append(note)
    counts: dict[str, int] = {}
    for o in result.outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    heading.append(", ".join(f"{k} {v}" for k, v in counts.items()) or "no scheduled time")
    print_lines(heading)
    shown = records if every else [r for r in records if r["outcome"] != "ran"]
    rows: list[list[str]] = []
    for group in _spans(shown):
        first, last = group[0], group[-1]
        when = (first["scheduled"] if len(group) == 1
                else f"{first['scheduled']} to {last['scheduled']} ({len(group)} times)")
        rows.append([when, first["outcome"], str(first["runid"] or "-"),
                     "-" if first["lag_s"] is None else f"{first['lag_s']:g}",
                     "-" if first["duration_s"] is None else f"{first['duration_s']:g}",
                     one_line(first["reason"])])
    if rows:
        print_table(rows, ["SCHEDULED", "OUTCOME", "RUNID", "LAG S", "DURATION S", "REASON"],
                    wrap=(0, 5))
    if not every and len(shown) < len(records):
        print(f"({len(records) - len(shown)} on-time runs not listed: --all lists them)")


async def cmd_timeline(args: argparse.Namespace) -> int:
    from tui.db import insight as reads
    from tui.insight.gather import zone_of
    from tui.insight.timeline import build, render
    from tui.insight.timeline_chart import chart, text
    from tui.rules import usuals_from_rows

    db = Database(options_from(args))
    try:
        facts = await pg_cron_facts(db)
        tz = zone_of(facts)
        jobs, sched, recent = map(reads.rows_of, await reads.read_together(db, [
            reads.jobs_read(facts.has_run_index), reads.scheduler_read(),
            reads.recent_read()]))
    finally:
        await db.close()
    plan = build(reads.jobs_of(jobs), usuals_from_rows(recent), facts.now, args.hours, tz,
                 facts.pg_cron_grammar or "1.6", reads.scheduler_from(sched).max_running_jobs)
    if args.json:
        print_json(plan.as_dict())
    else:
        # The chart at the terminal's width (a fixed 100 piped), then the list whole (no cut),
        # wrapped to the terminal under each line's indent.
        print(text(chart(plan, width=min(terminal_width() or 100, 160))))
        print()
        print_lines(render(plan, width=None).splitlines())
    return OK


def _spans(records: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Consecutive times with the same outcome for the same reason and no run (a purged
    week, a night the server was down) as one group: one line in the table."""
    groups: list[list[dict[str, Any]]] = []
    for r in records:
        prev = groups[-1][-1] if groups else None
        if (prev is not None and r["runid"] is None and prev["runid"] is None
                and (r["outcome"], r["reason"]) == (prev["outcome"], prev["reason"])):
            groups[-1].append(r)
        else:
            groups.append([r])
    return groups


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "explain", parents=[connection_parent], add_help=False,
        help="why a job ran, ran late or did not run at each time its schedule gave")
    p.add_argument("job", metavar="JOB", type=types.job_ref, help="job name or #id")
    p.add_argument("--since", metavar="WHEN", type=types.since,
                   help="from this long ago (90m, 12h, 3d, 2w) or this time (2026-12-01, "
                        "2026-12-01T06:00, 2026-12-01T06:00+02:00: without an offset in the "
                        "scheduler's zone) (default: 7 days ago)")
    p.add_argument("--json", action="store_true",
                   help="[{scheduled, outcome, reason, runid, lag_s, duration_s, missed, problem}]")
    p.add_argument("--all", action="store_true", help="list on-time runs too (table)")
    p.add_argument("--help", action="help")
    p.set_defaults(handler=cmd_explain)

    t = subparsers.add_parser(
        "timeline", parents=[connection_parent], add_help=False,
        help="what will run in the next hours: crowded minutes, overlaps, DST")
    t.add_argument("--hours", type=types.whole(1, 24 * 14, " hours"), default=24,
                   help="how far, 1-336 (default 24)")
    t.add_argument("--json", action="store_true",
                   help="{minutes: [{at, jobs, over_limit}], overlaps, dst, ...}")
    t.add_argument("--help", action="help")
    t.set_defaults(handler=cmd_timeline)
