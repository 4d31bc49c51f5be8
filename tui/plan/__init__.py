"""The difference between a jobs file and a server, and making the server match it.

A job in the file is the server's job with the same name and user (the file's `user`, else
the role that connects). Only those jobs are touched: others are listed and left alone,
unless `prune` asks for every other job this role can see to be deleted.

`apply` runs in ONE transaction: it re-reads the jobs and refuses if they changed since the
plan was made, has the server judge every new schedule first, then writes through pg_cron's
own functions (cron.schedule, schedule_in_database, alter_job, unschedule). Any refusal rolls
everything back: nothing is written.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg

from tui.cron import describe, next_runs, zone_problem
from tui.db import Database, DatabaseError
from tui.db.apply import alter, name_problems, read_jobs, unschedule
from tui.db.apply import jobs as server_jobs
from tui.db.client import explain, require_pg_cron
from tui.db.release import crash_refusal, may_crash
from tui.db.writes import (
    INVALID_PARAMETER,
    check_schedule,
    judge_schedule,
    names_context,
    schedule_job,
)
from tui.format import iso, server_label
from tui.masking import mask
from tui.models import Job, ServerFacts
from tui.plan.jobs_file import JobsFile
from tui.text import inert

ACTIONS = ("create", "change", "pause", "resume", "delete")
FIELDS = ("schedule", "command", "database")


@dataclass(frozen=True)
class Item:
    """One change: what it does to which job, and what the job will be."""

    action: str  # one of ACTIONS
    name: str | None
    username: str
    database: str
    schedule: str
    command: str
    active: bool
    jobid: int | None = None  # None for a job still to be created
    fields: tuple[str, ...] = ()  # for "change": the fields that differ (maybe "active")
    before: Job | None = None
    description: str = ""  # the schedule in plain English
    next_run: datetime | None = None  # None when paused, deleted or unknown

    @property
    def label(self) -> str:
        return self.name or f"#{self.jobid}"

    @property
    def key(self) -> tuple[Any, ...]:
        return (self.action, self.name, self.username, self.jobid, self.fields)


@dataclass
class Plan:
    file: JobsFile
    facts: ServerFacts
    prune: bool
    items: list[Item] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    unmanaged: list[Job] = field(default_factory=list)  # left alone (no prune)
    errors: list[str] = field(default_factory=list)

    @property
    def drift(self) -> bool:
        return bool(self.items)

    @property
    def server(self) -> str:
        return server_label(self.facts)


# -- planning ----------------------------------------------------------------------

def _when(schedule: str, active: bool, facts: ServerFacts) -> tuple[str, datetime | None]:
    version = facts.pg_cron_grammar or "1.6"
    text = describe(schedule, version)
    tz = facts.scheduler_timezone
    if not active or tz is None or zone_problem(tz) is not None:
        return text, None
    runs = next_runs(schedule, facts.now, tz, 1, version=version)
    return text, runs[0] if runs else None


def diff(spec_file: JobsFile, jobs: Iterable[Job], facts: ServerFacts, *,
         prune: bool = False) -> Plan:
    """The plan, from jobs already read (pure: no I/O)."""
    plan = Plan(file=spec_file, facts=facts, prune=prune)
    jobs = list(jobs)
    by_key = {(j.jobname, j.username): j for j in jobs if j.jobname}
    managed: dict[tuple[str, str], int] = {}
    for index, spec in enumerate(spec_file.jobs, start=1):
        user = spec.user or facts.current_user
        database = spec.database or facts.database
        key = (spec.name, user)
        if key in managed:
            plan.errors.append(f"{spec_file.path}: job {spec.name!r} (#{index}) is the same "
                               f"job as #{managed[key]} (name {spec.name!r}, user {user!r})")
            continue
        managed[key] = index
        current = by_key.get(key)
        text, upcoming = _when(spec.schedule, spec.active, facts)
        common = dict(name=spec.name, username=user, database=database,
                      schedule=spec.schedule, command=spec.command, active=spec.active,
                      description=text, next_run=upcoming)
        if current is None:
            plan.items.append(Item("create", **common))  # type: ignore[arg-type]
            continue
        wanted = {"schedule": spec.schedule, "command": spec.command, "database": database}
        differ = [f for f in FIELDS if _differs(f, getattr(current, f), wanted[f])]
        if differ:
            if current.active != spec.active:
                differ.append("active")
            plan.items.append(Item("change", jobid=current.jobid, fields=tuple(differ),
                                   before=current, **common))  # type: ignore[arg-type]
        elif current.active != spec.active:
            plan.items.append(Item("resume" if spec.active else "pause", jobid=current.jobid,
                                   fields=("active",), before=current,
                                   **common))  # type: ignore[arg-type]
        else:
            plan.unchanged.append(spec.name)
    for job in jobs:
        if (job.jobname, job.username) in managed:
            continue
        if not prune:
            plan.unmanaged.append(job)
            continue
        text, _ = _when(job.schedule, False, facts)
        plan.items.append(Item("delete", name=job.jobname, username=job.username,
                               database=job.database, schedule=job.schedule,
                               command=job.command, active=job.active, jobid=job.jobid,
                               before=job, description=text))
    return plan


def _differs(name: str, current: str, wanted: str) -> bool:
    if name == "command":  # the file's blanks around a command are not the job's
        return current.strip() != wanted
    return current != wanted


async def make_plan(db: Database, spec_file: JobsFile, *, prune: bool = False,
                    validate: bool = True) -> Plan:
    """Read the server's jobs and compare. With `validate`, the server judges each new
    schedule (in a rolled-back transaction) and the databases and roles named must exist;
    what it refuses lands in `plan.errors`."""
    facts = await db.facts()
    require_pg_cron(facts)
    jobs = await server_jobs(db)
    plan = diff(spec_file, jobs, facts, prune=prune)
    if validate:
        plan.errors.extend(await _server_errors(db, plan))
    return plan


async def _server_errors(db: Database, plan: Plan) -> list[str]:
    errors: list[str] = []
    judged: dict[str, str | None] = {}
    for item in plan.items:
        if item.action == "delete":
            continue
        where = f"{plan.file.path}: job {item.label!r}"
        if item.action == "create" or "schedule" in item.fields:
            if item.schedule not in judged:
                judged[item.schedule] = await check_schedule(db, item.schedule)
            if judged[item.schedule]:
                errors.append(f"{where}: the server refuses the schedule: "
                              f"{judged[item.schedule]}")
        errors.extend(f"{where}: {problem}" for problem
                      in await name_problems(db, item.database, item.username))
    return errors


# -- applying ----------------------------------------------------------------------

async def apply(db: Database, plan: Plan) -> int:
    """Make the server match the file, as planned, in one transaction. Returns the number
    of changes written; DatabaseError (nothing written) when anything is refused or the
    server's jobs changed since the plan was made."""
    if plan.errors:
        raise DatabaseError("the plan has errors; nothing was written:\n" +
                            "\n".join(plan.errors))
    if db.opts.read_only:
        raise DatabaseError("read-only session: apply writes jobs; nothing was written")
    if not plan.items:
        return 0

    async def work(conn: psycopg.AsyncConnection) -> int:
        async with conn.transaction():
            fresh = diff(plan.file, await read_jobs(conn), plan.facts, prune=plan.prune)
            if [i.key for i in fresh.items] != [i.key for i in plan.items]:
                raise DatabaseError("the server's jobs changed since the plan was made; "
                                    "nothing was written: plan again")
            await _judge_schedules(conn, plan)
            ctx = await names_context(conn)
            for item in plan.items:
                await _write(conn, item, ctx)
        return len(plan.items)

    deadline = db.deadline_s + 2 * len(plan.items)
    try:
        return await db.with_connection(work, deadline_s=deadline)
    except DatabaseError as exc:
        if exc.lost or "nothing was written" in str(exc):
            raise
        raise DatabaseError(f"{exc}: nothing was written", sqlstate=exc.sqlstate) from exc


async def _judge_schedules(conn: psycopg.AsyncConnection, plan: Plan) -> None:
    """The server's verdict on every schedule to be written, before anything is."""
    refused: list[str] = []
    for item in plan.items:
        if item.action == "delete" or (item.action != "create"
                                       and "schedule" not in item.fields):
            continue
        if may_crash(item.schedule, plan.facts.pg_cron_release):
            refused.append(f"job {item.label!r}: {crash_refusal(item.schedule)}")
            continue
        verdict = await judge_schedule(conn, item.schedule)
        if verdict is not None:
            refused.append(f"job {item.label!r}: {verdict}")
    if refused:
        raise DatabaseError("the server refuses these schedules; nothing was written: " +
                            "; ".join(refused), sqlstate=INVALID_PARAMETER)


async def _write(conn: psycopg.AsyncConnection, item: Item, ctx: dict[str, Any]) -> None:
    try:
        if item.action == "create":
            assert item.name is not None  # a file's job always has one
            await schedule_job(conn, ctx, name=item.name, schedule=item.schedule,
                               command=item.command, database=item.database,
                               username=item.username, active=item.active)
        elif item.action == "delete":
            assert item.jobid is not None
            await unschedule(conn, item.jobid)
        else:
            assert item.jobid is not None
            await alter(conn, item.jobid, **{f: getattr(item, f) for f in item.fields})
    except psycopg.Error as exc:
        raise DatabaseError(f"{item.action} {item.label}: {explain(exc)}",
                            sqlstate=exc.sqlstate) from exc


# -- showing -----------------------------------------------------------------------

SIGNS = {"create": "+", "change": "~", "pause": "‖", "resume": ">", "delete": "-"}
INDENT = "      "


def _command_lines(text: str) -> list[str]:
    """A command as the lines to show: masked, inert, tabs as spaces (a tab byte would move
    the terminal's cursor on its own), trailing blank lines dropped."""
    return [inert(line).expandtabs(4).rstrip() for line in (mask(text) or "").rstrip().splitlines()]


def command_diff(before: str, after: str) -> list[str]:
    """What `apply` will write over what the server has, whole: a unified line diff with
    every line as context (`-` the server's, `+` the file's), masked and inert."""
    old, new = _command_lines(before), _command_lines(after)
    if old == new:  # the commands differ only in a secret, which is never shown
        return [f"{INDENT}(only a masked secret differs)"]
    lines = difflib.unified_diff(old, new, "server", "file", n=max(len(old), len(new)),
                                 lineterm="")
    return [f"{INDENT}{line}".rstrip() for line in lines if not line.startswith("@@")]


def render(plan: Plan) -> list[str]:
    """The plan as lines for a terminal; every command masked."""
    f = plan.facts
    tz = f.scheduler_timezone or "an unknown zone"
    lines = [f"Plan for {plan.file.path} against {plan.server} as {f.current_user} "
             f"(pg_cron {f.pg_cron_minor}; schedules in {tz})", ""]
    for item in plan.items:
        owner = f" (user {item.username})"
        what = f"{SIGNS[item.action]} {item.action} {item.label}{owner}"
        if item.action == "change":
            what += f": {', '.join(item.fields)}"
        lines.append(what)
        before = item.before
        if item.action in ("create", "change", "resume", "pause"):
            sched = item.schedule
            if before is not None and "schedule" in item.fields:
                sched = f"{before.schedule} → {item.schedule}"
            when = f", next run {iso(item.next_run)}" if item.next_run else (
                ", paused" if not item.active else "")
            lines.append(f"    schedule: {sched}  ({item.description}{when})")
        if before is not None and "command" in item.fields:
            lines.append("    command (the server's → the file's):")
            lines.extend(command_diff(before.command.strip(), item.command))
        elif item.action == "create":
            lines.append("    command:")
            lines.extend(INDENT + line for line in _command_lines(item.command))
        if before is not None and "database" in item.fields:
            lines.append(f"    database: {before.database} → {item.database}")
        if item.action == "delete":
            lines.append(f"    schedule: {item.schedule}  ({item.description})")
            lines.append("    command:")
            lines.extend(INDENT + line for line in _command_lines(item.command))
    if not plan.items:
        lines.append("No changes: the server matches the file.")
    lines.append("")
    summary = [f"{len(plan.items)} change(s)", f"{len(plan.unchanged)} unchanged"]
    if plan.unmanaged:
        summary.append(f"{len(plan.unmanaged)} job(s) not in the file left alone "
                       f"({', '.join(j.label for j in plan.unmanaged[:5])}"
                       f"{', …' if len(plan.unmanaged) > 5 else ''}; --prune deletes them)")
    lines.append("; ".join(summary))
    for error in plan.errors:
        lines.append(f"error: {mask(error)}")
    return lines


def to_json(plan: Plan) -> dict[str, Any]:
    def item(i: Item) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": i.action, "name": i.name, "username": i.username, "jobid": i.jobid,
            "database": i.database, "schedule": i.schedule, "command": mask(i.command),
            "active": i.active, "fields": list(i.fields), "description": i.description,
            "next_run": iso(i.next_run)}
        if i.before is not None:
            out["before"] = {"schedule": i.before.schedule, "command": mask(i.before.command),
                             "database": i.before.database, "active": i.before.active}
        return out

    return {
        "file": str(plan.file.path), "server": plan.server, "drift": plan.drift,
        "timezone": plan.facts.scheduler_timezone,
        "items": [item(i) for i in plan.items], "unchanged": plan.unchanged,
        "unmanaged": [{"jobid": j.jobid, "name": j.jobname, "username": j.username}
                      for j in plan.unmanaged],
        "errors": [mask(e) for e in plan.errors],
    }

