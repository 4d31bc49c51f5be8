"""`cronjobs-tui doctor`: what stops pg_cron from running jobs, each with the fix.

`run_checks(db)` returns plain `Finding`s (for the CLI here and for a TUI screen). Every query
is bounded (the runid primary key, the (jobid, runid) index when present, the catalog for
sizes) and has the Database's statement timeout. A check this role may not look at says
'unknown' and why, rather than guessing.
"""

from __future__ import annotations

import argparse
import re
import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from tui.db import Database, DatabaseError
from tui.format import not_in_lookback
from tui.models import ServerFacts
from tui.secrets import mask
from tui.text import inert, one_line

OK, WARNING, PROBLEM, UNKNOWN = "ok", "warning", "problem", "unknown"
STATUSES = (OK, WARNING, PROBLEM, UNKNOWN)
UNFINISHED = ("starting", "running", "connecting", "sending")

#: Every check, in the order they are reported.
CHECKS = (
    "pg_cron.installed",
    "pg_cron.database",
    "pg_cron.preload",
    "scheduler.running",
    "server.primary",
    "runs.stuck",
    "runs.missed",
    "jobs.failing",
    "jobs.broken",
    "jobs.owner",
    "jobs.node",
    "history.size",
    "history.index",
    "history.last_runs",
    "http.ttl",
)


@dataclass(frozen=True)
class Finding:
    check: str
    status: str  # one of STATUSES
    summary: str  # one sentence: what is wrong, or that it is fine
    fix: str | None = None  # the exact thing to do: SQL, a config line or a command
    details: tuple[str, ...] = ()  # one line per job or run concerned (masked, not yet inert)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["details"] = list(self.details)
        return data


@dataclass(frozen=True)
class Limits:
    """Thresholds and work caps; the defaults suit production, tests lower some."""

    stuck_min_s: float = 600  # a run is stuck after max(this, factor x the job's median)
    stuck_factor: float = 10
    median_sample: int = 20  # succeeded runs the median is taken over
    failing_streak: int = 3
    missed_hours: float = 24
    missed_tolerance_s: float = 90  # a start this late still counts for its fire time
    max_fires_per_job: int = 1500
    max_jobs: int = 500  # jobs looked at for missed runs
    run_budget: int = 20_000  # runs read in all (per job when indexed: budget / jobs)
    min_per_job: int = 50
    max_per_job: int = 1500
    size_warn_rows: int = 1_000_000
    index_warn_rows: int = 10_000  # where the TUI's look-back without the index falls short


@dataclass
class _Run:
    jobid: int
    runid: int
    status: str | None
    start_time: datetime | None
    end_time: datetime | None
    job_pid: int | None
    message: str | None
    pid_alive: bool | None
    seen_after: datetime | None


@dataclass
class _Context:
    facts: ServerFacts
    limits: Limits
    server: dict[str, Any] | None = None
    server_error: str | None = None
    jobs: list[dict[str, Any]] | None = None
    jobs_error: str | None = None
    runs: dict[int, list[_Run]] = field(default_factory=dict)
    runs_error: str | None = None
    runs_scope: str = ""


def _q(text: str) -> str:
    """A SQL string literal (standard_conforming_strings)."""
    return "'" + text.replace("'", "''") + "'"


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 120:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min"
    return f"{hours // 24} d {hours % 24} h"


def _label(job: dict[str, Any]) -> str:
    name = job.get("jobname")
    return f"{name} (#{job['jobid']})" if name else f"#{job['jobid']}"


def _first_line(message: str | None) -> str:
    return (mask(message) or "").strip().split("\n", 1)[0].strip()


def _why(error: DatabaseError, facts: ServerFacts) -> str:
    if error.sqlstate == "42501":
        return (f"role {facts.current_user!r} may not read it ({error}); "
                f"a superuser can run: grant usage on schema cron to {facts.current_user}")
    return f"the query failed: {error}"


async def _try(db: Database, name: str, params: dict[str, Any] | None = None
               ) -> tuple[list[dict[str, Any]] | None, DatabaseError | None]:
    try:
        return await db.fetch(name, params), None
    except DatabaseError as exc:
        if exc.lost:
            raise
        return None, exc


# -- the entry point -------------------------------------------------------------------

async def run_checks(db: Database, limits: Limits | None = None) -> list[Finding]:
    """Every check of CHECKS, in order. Connection errors raise DatabaseError."""
    limits = limits or Limits()
    try:
        facts = await db.facts()
    except DatabaseError as exc:
        if exc.lost or exc.sqlstate != "42501":
            raise
        # facts.sql names cron.job_run_details: without USAGE on schema cron it cannot run.
        return [Finding(c, UNKNOWN, f"This role may not look at pg_cron at all ({exc}).",
                        "as a superuser: grant usage on schema cron to ROLE;") for c in CHECKS]
    ctx = _Context(facts=facts, limits=limits)
    rows, error = await _try(db, "doctor_server")
    if rows:
        ctx.server = rows[0]
    else:
        ctx.server_error = _why(error, facts) if error else "no answer"

    findings = [*_pg_cron_checks(ctx)]
    if facts.pg_cron_version is None:
        findings += [_scheduler(ctx), _primary(ctx)]
        where = facts.cron_database_name
        why = (f"pg_cron is not created in database {facts.database!r}"
               + (f" (its jobs are in {where!r})" if where and where != facts.database else "")
               + ", so there is nothing to look at here.")
        done = {f.check for f in findings}
        findings += [Finding(c, UNKNOWN, why) for c in CHECKS if c not in done]
        return findings

    rows, error = await _try(db, "doctor_jobs")
    if rows is not None:
        ctx.jobs = rows
        await _load_runs(db, ctx)
    else:
        ctx.jobs_error = _why(error, facts) if error else "no answer"
    findings += [_scheduler(ctx), _primary(ctx)]
    findings += [_stuck(ctx), _missed(ctx), _failing(ctx), _broken(ctx), _owners(ctx), _node(ctx)]
    findings += await _history(db, ctx)
    findings.append(await _pg_net_ttl(db, ctx))
    if not facts.cron_usage:
        # One cause behind every "could not read": say the one fix on each of them.
        grant = f"as a superuser: grant usage on schema cron to {facts.current_user};"
        findings = [replace(f, fix=grant) if f.status == UNKNOWN and f.fix is None
                    and "permission denied for schema cron" in f.summary else f
                    for f in findings]
    return findings


def exit_code(findings: Sequence[Finding]) -> int:
    """0 when every check is ok or unknown, 1 when any says warning or problem."""
    return 1 if any(f.status in (WARNING, PROBLEM) for f in findings) else 0


async def _load_runs(db: Database, ctx: _Context) -> None:
    facts, limits = ctx.facts, ctx.limits
    assert ctx.jobs is not None
    if facts.has_run_index:
        per_job = max(limits.min_per_job,
                      min(limits.max_per_job, limits.run_budget // max(len(ctx.jobs), 1)))
        rows, error = await _try(db, "doctor_runs_indexed", {"per_job": per_job})
        ctx.runs_scope = f"the newest {per_job} runs of each job"
    else:
        rows, error = await _try(db, "doctor_runs_lookback", {"lookback": limits.run_budget})
        ctx.runs_scope = f"the newest {limits.run_budget} runs"
    if rows is None:
        ctx.runs_error = _why(error, facts) if error else "no answer"
        return
    for row in rows:
        ctx.runs.setdefault(row["jobid"], []).append(_Run(**row))


def _scope(ctx: _Context) -> str:
    return "" if ctx.facts.sees_all else (
        f" (role {ctx.facts.current_user!r} sees only its own jobs)")


# -- 1. pg_cron itself -------------------------------------------------------------------

def _pg_cron_checks(ctx: _Context) -> list[Finding]:
    facts = ctx.facts
    major = facts.server_version_num // 10000
    out: list[Finding] = []
    if facts.pg_cron_version or facts.pg_cron_available:
        version = facts.pg_cron_version or facts.pg_cron_available
        out.append(Finding("pg_cron.installed", OK,
                           f"pg_cron {version} is installed on this server."))
    else:
        out.append(Finding(
            "pg_cron.installed", PROBLEM, "pg_cron is not installed on this server.",
            f"apt-get install postgresql-{major}-cron   (or your platform's pg_cron package)"))

    where = facts.cron_database_name
    here = facts.database
    if facts.pg_cron_version is not None:
        if where is not None and where != here:
            out.append(Finding(
                "pg_cron.database", WARNING,
                f"pg_cron is created in {here!r} but cron.database_name is {where!r}: "
                f"the scheduler reads the jobs in {where!r}.",
                f"connect with -d {where}"))
        else:
            out.append(Finding("pg_cron.database", OK,
                               f"pg_cron keeps its jobs in this database ({here!r})."))
    elif where is not None and where != here:
        out.append(Finding(
            "pg_cron.database", PROBLEM,
            f"pg_cron keeps its jobs in database {where!r}, not in {here!r}.",
            f"connect with -d {where}"))
    elif where is not None:
        out.append(Finding(
            "pg_cron.database", PROBLEM,
            f"pg_cron is not created in database {here!r}, where cron.database_name points.",
            f"psql -d {here} -c 'create extension pg_cron'"))
    else:
        out.append(Finding(
            "pg_cron.database", PROBLEM,
            f"pg_cron is not created in database {here!r}, and this role may not read "
            "cron.database_name to say where it is.",
            "as a superuser: show cron.database_name;  then connect to that database"))

    preload = ctx.server.get("preload") if ctx.server else None
    if ctx.server is None:
        out.append(Finding("pg_cron.preload", UNKNOWN, f"Could not look: {ctx.server_error}."))
    elif preload is None:
        out.append(Finding(
            "pg_cron.preload", UNKNOWN,
            f"Role {facts.current_user!r} may not read shared_preload_libraries "
            "(superuser or pg_read_all_settings only).",
            f"as a superuser: grant pg_read_all_settings to {facts.current_user};"))
    elif "pg_cron" in [p.strip().strip('"') for p in preload.split(",")]:
        out.append(Finding("pg_cron.preload", OK, "pg_cron is in shared_preload_libraries."))
    else:
        libraries = ", ".join(p for p in [*(x.strip() for x in preload.split(",")), "pg_cron"]
                              if p)
        out.append(Finding(
            "pg_cron.preload", PROBLEM,
            "pg_cron is not in shared_preload_libraries, so its scheduler never starts.",
            f"in postgresql.conf: shared_preload_libraries = '{libraries}'   "
            "then restart PostgreSQL"))
    return out


# -- 2. the scheduler process ---------------------------------------------------------

#: Said instead of a check that only makes sense on a primary: the standby itself is
#: reported once, by server.primary, with its fix.
ON_STANDBY = "Not checked on a standby: {what} (see server.primary)."


def _scheduler(ctx: _Context) -> Finding:
    facts, server = ctx.facts, ctx.server
    name = "scheduler.running"
    if facts.in_recovery:
        return Finding(name, OK, ON_STANDBY.format(
            what="pg_cron's launcher starts only on the primary"))
    if server is None:
        return Finding(name, UNKNOWN, f"Could not look: {ctx.server_error}.")
    pid = server.get("launcher_pid")
    if pid is not None:
        if server.get("launch_active_jobs") == "off":
            return Finding(
                name, WARNING,
                "The pg_cron launcher runs but cron.launch_active_jobs is off: it starts no job.",
                "in postgresql.conf: cron.launch_active_jobs = on   then restart PostgreSQL")
        started = server["launcher_start"]
        return Finding(name, OK, f"The pg_cron launcher is running (pid {pid}, started "
                                 f"{started:%Y-%m-%d %H:%M:%S %Z}).")
    if not (facts.is_superuser or server.get("sees_processes")):
        return Finding(
            name, UNKNOWN,
            f"Role {facts.current_user!r} cannot see other roles' processes, so it cannot "
            "tell whether the pg_cron launcher runs.",
            f"as a superuser: grant pg_read_all_stats to {facts.current_user};")
    preload = server.get("preload")
    orphans = [j for j in ctx.jobs or [] if not j["owner_exists"]]
    if orphans:
        fix = ("unschedule or reassign the jobs of dropped roles (see jobs.owner): the launcher "
               "stops at start with 'role ... does not exist' and restarts every second")
    elif preload is not None and "pg_cron" not in preload:
        fix = ("add pg_cron to shared_preload_libraries in postgresql.conf "
               "(see pg_cron.preload), then restart PostgreSQL")
    elif facts.in_recovery:
        fix = "none here: a standby runs no jobs; connect to the primary"
    else:
        fix = ("restart PostgreSQL (e.g. pg_ctl restart -D DATADIR, or systemctl restart "
               "postgresql), then read the server log's lines about pg_cron")
    return Finding(name, PROBLEM,
                   "No pg_cron launcher process is running: no job runs, and nothing else says "
                   "so.", fix)


def _primary(ctx: _Context) -> Finding:
    if ctx.facts.in_recovery:
        primary = ctx.facts.primary_address
        where = f" ({primary}, from this standby's settings)" if primary else ""
        return Finding("server.primary", WARNING,
                       "This server is a standby (in recovery): pg_cron runs no jobs here, "
                       "and nothing can be changed here.",
                       f"connect to the primary{where} to see and manage the jobs that run")
    return Finding("server.primary", OK, "This server is a primary, where pg_cron runs jobs.")


# -- shared helpers of the run checks ------------------------------------------------------

def _blocked(ctx: _Context, name: str) -> Finding | None:
    if ctx.jobs is None:
        return Finding(name, UNKNOWN, f"Could not read cron.job: {ctx.jobs_error}.")
    if ctx.runs_error is not None:
        return Finding(name, UNKNOWN, f"Could not read cron.job_run_details: {ctx.runs_error}.")
    return None


def _finished(runs: list[_Run]) -> list[_Run]:
    return [r for r in runs if r.status in ("succeeded", "failed")]


def _median_s(runs: list[_Run], sample: int) -> float | None:
    durations = [(r.end_time - r.start_time).total_seconds() for r in reversed(runs)
                 if r.status == "succeeded" and r.start_time and r.end_time][:sample]
    return statistics.median(durations) if durations else None


# -- 3. stuck runs -------------------------------------------------------------------------

def _stuck(ctx: _Context) -> Finding:
    name = "runs.stuck"
    if blocked := _blocked(ctx, name):
        return blocked
    assert ctx.jobs is not None
    now, limits = ctx.facts.now, ctx.limits
    details, fixes = [], []
    for job in ctx.jobs:
        runs = ctx.runs.get(job["jobid"], [])
        median = _median_s(runs, limits.median_sample)
        allowed = max(limits.stuck_min_s, limits.stuck_factor * (median or 0))
        for run in runs:
            since = run.start_time or run.seen_after
            if run.status not in UNFINISHED or since is None:
                continue
            age = (now - since).total_seconds()
            if age <= allowed:
                continue
            usual = f"usually {_duration(median)}" if median is not None else "no earlier run"
            where = ("its backend is gone" if run.pid_alive is False
                     else f"backend pid {run.job_pid}")
            details.append(f"{_label(job)}: run {run.runid} {run.status!r} for "
                           f"{'at least ' if run.start_time is None else ''}{_duration(age)} "
                           f"({usual}); {where}")
            if run.pid_alive:
                fixes.append(f"select pg_cancel_backend({int(run.job_pid or 0)});  "
                             f"-- run {run.runid}")
            else:
                fixes.append("update cron.job_run_details set status = 'failed', "  # noqa: S608
                             "end_time = now(), return_message = 'marked failed by hand' "
                             f"where runid = {run.runid};")
    limit = _duration(limits.stuck_min_s)
    if not details:
        return Finding(name, OK, f"No run has gone on longer than max({limit}, "
                                 f"{limits.stuck_factor:g}x its job's median) in "
                                 f"{ctx.runs_scope}{_scope(ctx)}.")
    return Finding(name, PROBLEM,
                   f"{len(details)} run(s) have gone on far longer than their job usually takes.",
                   "\n".join(fixes), tuple(details))


# -- 4. missed runs ------------------------------------------------------------------------

def _missed(ctx: _Context) -> Finding:
    from tui.cron import UnknownZone, next_runs, parse, resolve_zone

    name = "runs.missed"
    if blocked := _blocked(ctx, name):
        return blocked
    assert ctx.jobs is not None
    facts, limits, server = ctx.facts, ctx.limits, ctx.server or {}
    zone_name = facts.scheduler_timezone
    if zone_name is None and server.get("preload") is not None:
        # This role reads superuser-only settings, yet cron.timezone is not defined: pg_cron's
        # library is not loaded (see pg_cron.preload), and when it is, its default applies.
        zone_name = "GMT"
    if zone_name is None:
        return Finding(name, UNKNOWN,
                       f"Role {facts.current_user!r} may not read cron.timezone, so the times "
                       "the schedules fire at are unknown.",
                       f"as a superuser: grant pg_read_all_settings to {facts.current_user};")
    try:
        zone = resolve_zone(zone_name)
    except UnknownZone as exc:
        return Finding(name, UNKNOWN, f"cron.timezone is an {exc}, so fire times are "
                                      "unknown.")
    version = facts.pg_cron_grammar or "1.6"
    now = facts.now
    upper = now - timedelta(seconds=limits.missed_tolerance_s)
    # Runs missed while the server was down are never caught up: count only fire times after
    # the scheduler started. If it is known to be absent, every fire since counts.
    if server.get("launcher_pid") is not None:
        started = server["launcher_start"]
    elif facts.is_superuser or server.get("sees_processes"):
        started = None
    else:
        started = server.get("postmaster_start")
    earliest = now - timedelta(hours=limits.missed_hours)
    tolerance = timedelta(seconds=limits.missed_tolerance_s)
    early = timedelta(seconds=5)
    details: list[str] = []
    worst = 0
    unchecked = 0
    checked = 0
    for job in ctx.jobs[: limits.max_jobs]:
        schedule = parse(job["schedule"], version)
        if not job["active"] or schedule is None or schedule.kind != "cron":
            continue
        runs = ctx.runs.get(job["jobid"], [])
        starts_known = [r.start_time for r in runs if r.start_time is not None]
        if not starts_known:
            unchecked += 1  # no run seen: pg_cron keeps no creation time to count from
            continue
        checked += 1
        lower = max(min(starts_known), earliest, *([started] if started else []))
        if lower >= upper:
            continue
        fires = [t for t in next_runs(job["schedule"], lower, zone, limits.max_fires_per_job,
                                      version=version) if t <= upper]
        ordered = sorted((r for r in runs if r.start_time is not None),
                         key=lambda r: r.start_time)  # type: ignore[arg-type,return-value]
        starts = [r.start_time for r in ordered]
        missed = []
        for t in fires:
            i = bisect_left(starts, t - early)
            if i < len(starts) and starts[i] <= t + tolerance:  # type: ignore[operator]
                continue
            j = bisect_right(starts, t) - 1  # the run going on at t, if any, queued this fire
            if j >= 0:
                prev = ordered[j]
                if prev.status in UNFINISHED or (prev.end_time and prev.end_time >= t - early):
                    continue
            missed.append(t)
        if missed:
            worst = max(worst, len(missed))
            details.append(
                f"{_label(job)} {job['schedule']!r}: missed {len(missed)} of {len(fires)} "
                f"expected runs since {lower.astimezone(zone):%Y-%m-%d %H:%M} {zone_name}; "
                f"latest missed {missed[-1]:%Y-%m-%d %H:%M} {zone_name}")
    notes = []
    if unchecked:
        notes.append(f"{unchecked} active job(s) without a recorded run in {ctx.runs_scope} "
                     "were not checked (pg_cron records no creation time)")
    if started:
        notes.append(f"fire times before the scheduler started ({started:%Y-%m-%d %H:%M %Z}) "
                     "are not counted")
    note = ("; " + "; ".join(notes)) if notes else ""
    if not details:
        return Finding(name, OK, f"No job missed a time its schedule gave in the last "
                                 f"{limits.missed_hours:g} h ({checked} checked){_scope(ctx)}"
                                 f"{note}.")
    fix = ("see scheduler.running first; otherwise read the server log's pg_cron lines around "
           "the missed times, and if runs queue behind long ones raise "
           "cron.max_running_jobs in postgresql.conf (then restart PostgreSQL)")
    return Finding(name, PROBLEM if worst >= 3 else WARNING,
                   f"{len(details)} job(s) did not start at times their schedule says they "
                   f"should have{note}.", fix, tuple(details))


# -- 5. failing jobs ---------------------------------------------------------------------

def _failing(ctx: _Context) -> Finding:
    name = "jobs.failing"
    if blocked := _blocked(ctx, name):
        return blocked
    assert ctx.jobs is not None
    streak_min = ctx.limits.failing_streak
    details, fixes = [], []
    for job in ctx.jobs:
        finished = _finished(ctx.runs.get(job["jobid"], []))
        streak = 0
        for run in reversed(finished):
            if run.status != "failed":
                break
            streak += 1
        if streak < streak_min:
            continue
        more = "+" if streak == len(finished) else ""
        details.append(f"{_label(job)}: the last {streak}{more} finished runs failed; latest: "
                       f"{_first_line(finished[-1].message) or '(no message)'}")
        fixes.append(f"select cron.alter_job({job['jobid']}, active := false);  "
                     f"-- pause {_label(job)} until its command is fixed")
    if not details:
        return Finding(name, OK, f"No job's last {streak_min} finished runs all failed "
                                 f"({ctx.runs_scope}){_scope(ctx)}.")
    fix = ("fix each command (cronjobs-tui runs --job '#ID' --status failed shows the errors), "
           "or pause it:\n" + "\n".join(fixes))
    return Finding(name, PROBLEM, f"{len(details)} job(s) fail again and again.", fix,
                   tuple(details))


# -- 5b. jobs that cannot succeed as written ---------------------------------------------

#: Schemas that only an extension creates: the fix is the extension, not `create schema`.
EXTENSION_SCHEMAS = {"net": "pg_net", "vault": "supabase_vault", "cron": "pg_cron",
                     "pgmq": "pgmq", "partman": "pg_partman", "graphql": "pg_graphql"}

#: PostgreSQL's words (lc_messages English) for "this does not exist", and what is missing.
_MISSING = [
    (re.compile(r'schema "([^"]+)" does not exist'), "schema"),
    (re.compile(r'function (\S+?\(.*?\)) does not exist'), "function"),
    (re.compile(r'relation "([^"]+)" does not exist'), "table"),
    (re.compile(r'type "([^"]+)" does not exist'), "type"),
    (re.compile(r'extension "([^"]+)" (?:is not available|does not exist)'), "extension"),
    (re.compile(r'role "([^"]+)" does not exist'), "role"),
    (re.compile(r'database "([^"]+)" does not exist'), "database"),
]


def _missing(message: str | None) -> tuple[str, str] | None:
    """(what, name) when a run failed because something the command needs is absent."""
    for pattern, what in _MISSING:
        found = pattern.search(message or "")
        if found:
            return what, found.group(1)
    return None


def _fix_for(job: dict[str, Any], what: str, name: str) -> str:
    jobid, label = job["jobid"], _label(job)
    change = f"or change the job: select cron.alter_job({jobid}, command := '...');"
    if what == "schema" and name in EXTENSION_SCHEMAS:
        ext = EXTENSION_SCHEMAS[name]
        preload = (" (and add it to shared_preload_libraries, then restart)"
                   if ext == "pg_net" else "")
        return (f"-- {label}: schema {name!r} belongs to the extension {ext}: install it on "
                f"the server{preload}, then in database {job['database']!r}:\n"
                f"create extension {ext};   {change}")
    if what == "extension":
        return (f"-- {label}: install the package that provides {name!r} on the server, "
                f"then: create extension {name};   {change}")
    if what == "role":
        return (f"-- {label}: create role {name} login;   or run it as another role: "
                f"select cron.alter_job({jobid}, username := {_q(job['username'])});")
    if what == "database":
        return (f"-- {label}: create database {name};   or run it elsewhere: "
                f"select cron.alter_job({jobid}, database := 'postgres');")
    return (f"-- {label}: create the {what} {name} in database {job['database']!r} (or "
            f"install what provides it), {change}")


def _broken(ctx: _Context) -> Finding:
    from tui.http import is_http_job

    name = "jobs.broken"
    if blocked := _blocked(ctx, name):
        return blocked
    assert ctx.jobs is not None
    details, fixes = [], []
    for job in ctx.jobs:
        if job.get("database_exists") is False:
            found: tuple[str, str] | None = ("database", job["database"])
            why = f"its database {job['database']!r} does not exist"
        elif job.get("pg_net_here") is False and is_http_job(job.get("command")):
            # Known before any run: the weekly job would otherwise look fine for a week.
            found = ("schema", "net")
            why = (f"it calls pg_net's net.http_* but pg_net is not installed in database "
                   f"{job['database']!r}: every run fails with schema \"net\" does not exist")
        else:
            finished = _finished(ctx.runs.get(job["jobid"], []))
            latest = finished[-1] if finished else None
            found = _missing(latest.message) if latest and latest.status == "failed" else None
            why = f"its latest run failed: {_first_line(latest.message)}" if found and latest \
                else ""
        if found is None:
            continue
        details.append(f"{_label(job)}: {why}")
        fixes.append(_fix_for(job, *found))
    if not details:
        return Finding(name, OK, "No job's latest run failed for want of a schema, function, "
                                 "table, extension, role or database "
                                 f"({ctx.runs_scope}){_scope(ctx)}.")
    return Finding(name, WARNING,
                   f"{len(details)} job(s) cannot succeed as written: they need something "
                   "that does not exist, and will fail at every run until it does.",
                   "\n".join(fixes), tuple(details))


# -- 6. jobs of roles that no longer exist -------------------------------------------------

def _owners(ctx: _Context) -> Finding:
    name = "jobs.owner"
    if ctx.jobs is None:
        return Finding(name, UNKNOWN, f"Could not read cron.job: {ctx.jobs_error}.")
    facts = ctx.facts
    if not facts.sees_all:
        return Finding(name, UNKNOWN,
                       f"Role {facts.current_user!r} sees only its own jobs (row-level "
                       "security), so it cannot check other roles' jobs.",
                       "run the doctor as a superuser")
    orphans = [j for j in ctx.jobs if not j["owner_exists"]]
    if not orphans:
        return Finding(name, OK, f"Every job's role exists ({len(ctx.jobs)} job(s)).")
    heir = facts.current_user
    fixes = [f"select cron.unschedule({j['jobid']});  -- or: select cron.alter_job("
             f"{j['jobid']}, username := {_q(heir)});" for j in orphans]
    return Finding(
        name, PROBLEM,
        f"{len(orphans)} job(s) belong to roles that no longer exist; such jobs can keep the "
        "scheduler from starting (pg_cron #399).",
        "\n".join(fixes),
        tuple(f"{_label(j)} is owned by {j['username']!r}, which no longer exists"
              for j in orphans))


# -- 7. jobs that connect to the wrong port or host -----------------------------------------

def _node(ctx: _Context) -> Finding:
    name = "jobs.node"
    if ctx.facts.in_recovery:
        # The jobs carry the primary's port and host: this server's are not the measure.
        return Finding(name, OK, ON_STANDBY.format(
            what="the jobs' stored host and port are the primary's, as they should be"))
    if blocked := _blocked(ctx, name):
        return blocked
    assert ctx.jobs is not None
    server = ctx.server
    if server is None:
        return Finding(name, UNKNOWN, f"Could not look: {ctx.server_error}.")
    if server.get("use_background_workers") == "on":
        return Finding(name, OK, "Jobs run in background workers "
                                 "(cron.use_background_workers), not over a connection.")
    port = server["port"]
    host = server.get("cron_host")
    wrong: list[tuple[dict[str, Any], list[str], bool]] = []
    for job in ctx.jobs:
        what = []
        if job["nodeport"] != port:
            what.append(f"nodeport {job['nodeport']} (server port {port})")
        if host is not None and job["nodename"] != host:
            what.append(f"nodename {job['nodename']!r} (cron.host {host!r})")
        if not what:
            continue
        recent = _finished(ctx.runs.get(job["jobid"], []))[-3:]
        failing = any(r.status == "failed" and "connection failed" in (r.message or "").lower()
                      for r in recent)
        wrong.append((job, what, failing))
    unsure = "" if host is not None else " (cron.host is unreadable for this role)"
    if not wrong:
        return Finding(name, OK, f"Every job connects to this server's port {port}{unsure}"
                                 f"{_scope(ctx)}.")
    ids = ", ".join(str(j["jobid"]) for j, _, _ in wrong)
    fixes = []
    if any(j["nodeport"] != port for j, _, _ in wrong):
        port_ids = ", ".join(str(j["jobid"]) for j, _, _ in wrong if j["nodeport"] != port)
        # Shown to the operator, never run here; integers only.
        fixes.append(f"update cron.job set nodeport = {port} "  # noqa: S608
                     f"where jobid in ({port_ids});")
    if host is not None and any(j["nodename"] != host for j, _, _ in wrong):
        host_ids = ", ".join(str(j["jobid"]) for j, _, _ in wrong if j["nodename"] != host)
        # Shown, never run; the host quoted as a literal.
        fixes.append(f"update cron.job set nodename = {_q(host)} "  # noqa: S608
                     f"where jobid in ({host_ids});")
    fix = "as a superuser:\n" + "\n".join(fixes)
    details = tuple(f"{_label(j)}: {'; '.join(what)}"
                    + ("; its recent runs say 'connection failed'" if failing else "")
                    for j, what, failing in wrong)
    if any(failing for _, _, failing in wrong):
        return Finding(name, PROBLEM,
                       f"Job(s) {ids} connect to another port or host than this server's, and "
                       "their runs fail with 'connection failed'.", fix, details)
    return Finding(name, WARNING,
                   f"Job(s) {ids} connect to another port or host than this server's (pg_cron "
                   "stores both in each job when it is scheduled).", fix, details)


# -- 8. the run history ------------------------------------------------------------------

PURGE = ("-- delete old runs in batches (repeat until it deletes 0 rows):\n"
         "delete from cron.job_run_details where runid in (\n"
         "    select runid from cron.job_run_details\n"
         "    where coalesce(end_time, start_time) < now() - interval '7 days'\n"
         "    order by runid limit 50000);\n"
         "-- then keep it small with a job of its own:\n"
         "select cron.schedule('purge-cron-history', '17 3 * * *', $$delete from "
         "cron.job_run_details where coalesce(end_time, start_time) < now() - "
         "interval '7 days'$$);")
INDEX = ("create index concurrently job_run_details_jobid_runid_idx "
         "on cron.job_run_details (jobid, runid);")


async def _history(db: Database, ctx: _Context) -> list[Finding]:
    facts, limits = ctx.facts, ctx.limits
    rows, error = await _try(db, "doctor_history_size")
    rows_estimate: int | None = None
    if rows:
        rows_estimate = rows[0]["rows_estimate"]
        if rows_estimate is not None:
            summary = (f"cron.job_run_details holds about {rows_estimate:,} rows in "
                       f"{rows[0]['total_pretty']}")
        else:
            # reltuples is -1 until the first VACUUM or ANALYZE: say what that means.
            summary = (f"cron.job_run_details takes {rows[0]['total_pretty']}; how many rows "
                       "it holds is unknown until PostgreSQL first analyzes it (autovacuum "
                       "does as it grows; or run: analyze cron.job_run_details)")
        if rows_estimate is not None and rows_estimate > limits.size_warn_rows:
            size = Finding("history.size", WARNING,
                           f"{summary}, over {limits.size_warn_rows:,}: pg_cron never deletes "
                           "run history.", PURGE)
        else:
            size = Finding("history.size", OK, f"{summary}.")
    else:
        why = _why(error, facts) if error else "the table is missing"
        size = Finding("history.size", UNKNOWN, f"Could not look: {why}.")

    if facts.has_run_index:
        index = Finding("history.index", OK,
                        "cron.job_run_details has a (jobid, runid) index: a job's latest runs "
                        "are cheap to find.")
    elif rows_estimate is not None and rows_estimate >= limits.index_warn_rows:
        index = Finding("history.index", WARNING,
                        f"cron.job_run_details has no (jobid, runid) index and about "
                        f"{rows_estimate:,} rows: finding each job's latest run means reading "
                        "far back (pg_cron does not create this index).", INDEX)
    else:
        index = Finding("history.index", OK,
                        "cron.job_run_details has no (jobid, runid) index, which is fine while "
                        f"it is below {limits.index_warn_rows:,} rows; create it as it grows.",
                        INDEX)
    return [size, index, await _last_runs(db, ctx)]


async def _last_runs(db: Database, ctx: _Context) -> Finding:
    """Jobs whose last run the TUI and `jobs` cannot tell: without the index they search the
    newest LOOKBACK_RUNS runs only, and a job with none there may have run before."""
    name, facts = "history.last_runs", ctx.facts
    if facts.has_run_index:
        return Finding(name, OK, "The (jobid, runid) index finds every job's last run.")
    try:
        jobs = await db.jobs(indexed=False)
    except DatabaseError as exc:
        if exc.lost:
            raise
        return Finding(name, UNKNOWN, f"Could not look: {_why(exc, facts)}.")
    unknown = [j for j in jobs if not j.last_run_known]
    if not unknown:
        return Finding(name, OK, "Every job's last run is known: each has a run among the "
                                 "newest runs searched, or the search covered the whole "
                                 f"history{_scope(ctx)}.")
    searched = unknown[0].last_run_lookback or 0
    shown = 20
    details = tuple(f"{_label({'jobid': j.jobid, 'jobname': j.jobname})}: {j.schedule}"
                    + ("" if j.active else ", paused") for j in unknown[:shown])
    if len(unknown) > shown:
        details += (f"... and {len(unknown) - shown} more",)
    return Finding(
        name, WARNING,
        f"{len(unknown)} job(s) have no run among the newest {searched:,} runs, the only ones "
        "searched for last runs without a (jobid, runid) index: their last run is unknown "
        f"(shown as '{not_in_lookback(searched)}', and \"last_run_known\": false in "
        f"jobs --json), though they may have run before{_scope(ctx)}.",
        "in the TUI: m (maintenance), then Create index; or as a superuser:\n" + INDEX,
        details)


def _every_s(schedule: str, version: str, now: datetime) -> float | None:
    """The longest gap between a schedule's next few fire times (UTC: a DST hour is noise
    here), or None when it does not fire regularly."""
    from tui.cron import next_runs, parse

    parsed = parse(schedule, version)
    if parsed is None:
        return None
    if parsed.kind == "seconds":
        return float(parsed.seconds)
    fires = next_runs(schedule, now, "UTC", 4, version=version)
    if len(fires) < 2:
        return None
    return max((b - a).total_seconds() for a, b in zip(fires, fires[1:]))


async def _pg_net_ttl(db: Database, ctx: _Context) -> Finding:
    """pg_net deletes its answers after pg_net.ttl: for an HTTP job that runs less often, the
    last run's answer (the only sign the endpoint failed) is gone before the next run, and
    usually before anyone looks."""
    from tui.http import is_http_job

    name = "http.ttl"
    http_jobs = [j for j in ctx.jobs or [] if j["active"] and is_http_job(j.get("command"))]
    if ctx.jobs is None:
        return Finding(name, UNKNOWN, f"Could not read cron.job: {ctx.jobs_error}.")
    if not http_jobs:
        return Finding(name, OK, f"No active job calls pg_net{_scope(ctx)}.")
    rows, error = await _try(db, "doctor_pg_net_ttl")
    if rows is None:
        return Finding(name, UNKNOWN, "Could not read pg_net.ttl: "
                                      f"{_why(error, ctx.facts) if error else 'no answer'}.")
    ttl, ttl_s = rows[0]["ttl"], rows[0]["ttl_s"]
    if ttl_s is None:
        return Finding(name, UNKNOWN, "pg_net.ttl is not defined here: pg_net's library is "
                                      "not loaded in this server.")
    version = ctx.facts.pg_cron_grammar or "1.6"
    details, longest = [], 0.0
    for job in http_jobs:
        every = _every_s(job["schedule"], version, ctx.facts.now)
        if every is not None and every > ttl_s:
            longest = max(longest, every)
            details.append(f"{_label(job)}: runs every ~{_duration(every)} ({job['schedule']})")
    if not details:
        return Finding(name, OK, f"pg_net keeps its answers ({ttl}) longer than any HTTP job's "
                                 f"interval{_scope(ctx)}.")
    keep = f"{int(longest // 86400) + 1} days"
    return Finding(
        name, WARNING,
        f"pg_net deletes its answers after pg_net.ttl = {ttl}, before the next run of "
        f"{len(details)} HTTP job(s): what their endpoint answered (a 500, a timeout) is gone "
        "long before anyone could read it, and pg_cron's 'succeeded' only means the request "
        "was queued.",
        f"as a superuser: alter system set pg_net.ttl = {_q(keep)}; select pg_reload_conf();",
        tuple(details))


# -- the subcommand ----------------------------------------------------------------------

MARKERS = {OK: "ok", WARNING: "WARNING", PROBLEM: "PROBLEM", UNKNOWN: "unknown"}


def render(findings: Sequence[Finding], width: int | None = None) -> str:
    """Human output: one line per check, its details and its fix indented; all inert. Given
    a `width` (a terminal's), long lines wrap under their own start, not at column 0."""
    import textwrap

    name_width = max(len(c) for c in CHECKS)
    lines: list[str] = []

    def put(first: str, text: str, indent: int) -> None:
        if width is None or len(first) + len(text) <= width:
            lines.append(first + text)
            return
        lines.extend(textwrap.wrap(text, width=max(width, indent + 20), initial_indent=first,
                                   subsequent_indent=" " * indent, break_on_hyphens=False))

    for f in findings:
        first = f"{MARKERS[f.status]:<8} {f.check:<{name_width}}  "
        put(first, one_line(f.summary), len(first))
        for detail in f.details:
            put(f"{'':<10}- ", one_line(detail), 12)
        if f.fix and f.status != OK:
            fix_lines = inert(f.fix).splitlines()
            put(f"{'':<10}fix: ", fix_lines[0], 15)
            for line in fix_lines[1:]:
                put(" " * 15, line, 15)
    return "\n".join(lines)


async def cmd_doctor(args: argparse.Namespace) -> int:
    from tui.cli import options_from, print_json

    db = Database(options_from(args))
    try:
        findings = await run_checks(db)
    finally:
        await db.close()
    code = exit_code(findings)
    if args.json:
        print_json({"ok": code == 0, "findings": [f.as_dict() for f in findings]})
    else:
        import shutil
        import sys

        # Wrapped by us to the terminal's width, so continuation lines keep their indent;
        # piped output keeps one line per item for grep.
        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else None
        print(render(findings, width))
    return code


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    parser = subparsers.add_parser(
        "doctor", parents=[connection_parent], add_help=False,
        help="check what keeps pg_cron from running jobs (exit 1 on warnings or problems)")
    parser.add_argument("--json", action="store_true",
                        help='{"ok": bool, "findings": [{check, status, summary, fix, '
                             'details}]}')
    parser.add_argument("--help", action="help")
    parser.set_defaults(handler=cmd_doctor)
