"""`cronjobs-tui explain`, `timeline` and `watch`."""

from __future__ import annotations

import argparse
import asyncio
import shutil
from pathlib import Path
from typing import Any

from tui.cli.options import options_from, pg_cron_facts
from tui.cli.output import print_json, print_table
from tui.db import Database


def _bounded_hours(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 24 * 14:
        raise argparse.ArgumentTypeError(f"must be 1 to {24 * 14} hours, not {value}")
    return value


async def cmd_explain(args: argparse.Namespace) -> int:
    from tui.audit import AuditLog
    from tui.audit import default_path as audit_path
    from tui.cron import resolve_zone
    from tui.insight.gather import explain_job, find_job, parse_since
    from tui.masking import mask
    from tui.text import one_line

    db = Database(options_from(args))
    try:
        facts = await pg_cron_facts(db)
        job = find_job(args.job, await db.jobs(indexed=facts.has_run_index))
        result = await explain_job(db, facts, job, parse_since(args.since),
                                   AuditLog(audit_path()).tail(1_000_000))
    finally:
        await db.close()
    zone = resolve_zone(result.zone)
    # In the scheduler's zone, with its offset: a repeated hour's two times stay apart.
    records = [{**o.as_dict(), "scheduled": o.scheduled.astimezone(zone).isoformat(),
                "reason": mask(o.reason)} for o in result.outcomes]
    if args.json:
        print_json(records)
        return 0
    print(f"{one_line(job.label, 60)} {job.schedule!r} in {result.zone}, "
          f"{result.since:%Y-%m-%d %H:%M} to {result.until:%Y-%m-%d %H:%M} "
          f"(server time {facts.now:%Y-%m-%d %H:%M %Z})")
    if result.note:
        print(result.note)
    counts: dict[str, int] = {}
    for o in result.outcomes:
        counts[o.outcome] = counts.get(o.outcome, 0) + 1
    print(", ".join(f"{k} {v}" for k, v in counts.items()) or "no scheduled time")
    shown = [r for r in records if r["outcome"] != "ran"] if not args.all else records
    rows: list[list[str]] = []
    for group in _spans(shown):
        first, last = group[0], group[-1]
        when = (first["scheduled"] if len(group) == 1
                else f"{first['scheduled']} to {last['scheduled']} ({len(group)} times)")
        rows.append([when, first["outcome"], str(first["runid"] or "-"),
                     "-" if first["lag_s"] is None else f"{first['lag_s']:g}",
                     "-" if first["duration_s"] is None else f"{first['duration_s']:g}",
                     one_line(first["reason"], 110)])
    if rows:
        print_table(rows, ["SCHEDULED", "OUTCOME", "RUNID", "LAG S", "DURATION S", "REASON"])
    if not args.all and len(shown) < len(records):
        print(f"({len(records) - len(shown)} on-time runs not listed: --all lists them)")
    return 0


async def cmd_timeline(args: argparse.Namespace) -> int:
    from tui.db import insight as reads
    from tui.insight.gather import zone_of
    from tui.insight.timeline import build, render
    from tui.insight.timeline_chart import chart, text

    db = Database(options_from(args))
    try:
        facts = await pg_cron_facts(db)
        tz = zone_of(facts)
        jobs = await db.jobs(indexed=facts.has_run_index)
        sched = await reads.scheduler(db)
        usual = await reads.usual_durations(db)
    finally:
        await db.close()
    plan = build(jobs, usual, facts.now, args.hours, tz, facts.pg_cron_grammar or "1.6",
                 sched.max_running_jobs)
    if args.json:
        print_json(plan.as_dict())
    else:
        width = min(shutil.get_terminal_size((80, 24)).columns, 160)
        print(text(chart(plan, width=width)))
        print()
        print(render(plan, width=max(width, 80)))
    return 0


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
    p.add_argument("job", metavar="JOB", help="job name or #id")
    p.add_argument("--since", metavar="ISO",
                   help="from this time, with its offset (default: 7 days ago)")
    p.add_argument("--json", action="store_true",
                   help="[{scheduled, outcome, reason, runid, lag_s, duration_s}]")
    p.add_argument("--all", action="store_true", help="list on-time runs too (table)")
    p.add_argument("--help", action="help")
    p.set_defaults(handler=cmd_explain)

    t = subparsers.add_parser(
        "timeline", parents=[connection_parent], add_help=False,
        help="what will run in the next hours: crowded minutes, overlaps, DST")
    t.add_argument("--hours", type=_bounded_hours, default=24, help="how far (default 24)")
    t.add_argument("--json", action="store_true",
                   help="{minutes: [{at, jobs, over_limit}], overlaps, dst, ...}")
    t.add_argument("--help", action="help")
    t.set_defaults(handler=cmd_timeline)

    w = subparsers.add_parser(
        "watch", parents=[connection_parent], add_help=False,
        help="alert on failed, missed and stuck runs, a stopped scheduler, an unreachable "
             "database (JSON lines, webhooks, Prometheus metrics)")
    w.add_argument("--webhook", action="append", metavar="URL",
                   help="POST each event here (repeatable); Slack-compatible by default")
    w.add_argument("--webhook-format", choices=("slack", "generic"), default="slack",
                   help="slack: {\"text\": ...}; generic: the event's JSON")
    w.add_argument("--state", metavar="FILE",
                   help="remember what was sent here, so a restart neither repeats nor misses")
    w.add_argument("--once", action="store_true",
                   help="one pass, then exit (1 when something is wrong)")
    w.add_argument("--interval", type=float, default=30, metavar="S",
                   help="seconds between passes (default 30)")
    w.add_argument("--grace", type=float, default=120, metavar="S",
                   help="a scheduled time with no run this much later is missed (default 120)")
    w.add_argument("--metrics", type=_host_port, metavar="HOST:PORT",
                   help="serve Prometheus metrics at http://HOST:PORT/metrics")
    w.add_argument("--help", action="help")
    w.set_defaults(handler=cmd_watch)


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, not {text!r}")
    return host or "127.0.0.1", int(port)


async def cmd_watch(args: argparse.Namespace) -> int:
    """Passes until stopped (or one, --once), each event printed and sent to the webhooks;
    what was sent is kept in the state file."""
    from tui.insight.watch import Options, State, Watcher, Webhook

    state_path = Path(args.state) if args.state else None
    state = State.load(state_path)
    hooks = [Webhook(url, args.webhook_format) for url in args.webhook or []]
    metrics = None
    if args.metrics:
        from tui.insight.metrics import Metrics

        host, port = args.metrics
        metrics = Metrics()
        metrics.serve(host, port)
    db = Database(options_from(args))
    watcher = Watcher(db, state, hooks, Options(grace_s=args.grace), metrics)
    try:
        while True:
            fresh = await watcher.run_pass()
            state.save(state_path)
            if args.once:
                # Wrong: something new happened, a problem is still open, or an alert is
                # still undelivered.
                return 1 if fresh or watcher.problems or state.pending else 0
            await asyncio.sleep(args.interval)
    finally:
        await db.close()
