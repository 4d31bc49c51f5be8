"""Checks of the jobs as written: needs that do not exist, owners that no longer exist, and
the host and port each job connects to.
"""

from __future__ import annotations

import re
from typing import Any

from tui.db.fixes import set_nodename, set_nodeport
from tui.doctor.base import (
    OK,
    ON_STANDBY,
    PROBLEM,
    UNKNOWN,
    WARNING,
    Context,
    Finding,
    cannot_read,
    finished_runs,
    first_line,
    job_label,
    quote,
    scope_note,
)
from tui.http_jobs import is_http_job

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
    jobid, label = job["jobid"], job_label(job)
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
                f"select cron.alter_job({jobid}, username := {quote(job['username'])});")
    if what == "database":
        return (f"-- {label}: create database {name};   or run it elsewhere: "
                f"select cron.alter_job({jobid}, database := 'postgres');")
    return (f"-- {label}: create the {what} {name} in database {job['database']!r} (or "
            f"install what provides it), {change}")


def broken_check(ctx: Context) -> Finding:
    name = "jobs.broken"
    if blocked := cannot_read(ctx, name):
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
            finished = finished_runs(ctx.runs.get(job["jobid"], []))
            latest = finished[-1] if finished else None
            found = _missing(latest.message) if latest and latest.status == "failed" else None
            why = f"its latest run failed: {first_line(latest.message)}" if found and latest \
                else ""
        if found is None:
            continue
        details.append(f"{job_label(job)}: {why}")
        fixes.append(_fix_for(job, *found))
    if not details:
        return Finding(name, OK, "No job's latest run failed for want of a schema, function, "
                                 "table, extension, role or database "
                                 f"({ctx.runs_scope}){scope_note(ctx)}.")
    return Finding(name, WARNING,
                   f"{len(details)} job(s) cannot succeed as written: they need something "
                   "that does not exist, and will fail at every run until it does.",
                   "\n".join(fixes), tuple(details))


# -- 6. jobs of roles that no longer exist -------------------------------------------------

def owners_check(ctx: Context) -> Finding:
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
             f"{j['jobid']}, username := {quote(heir)});" for j in orphans]
    return Finding(
        name, PROBLEM,
        f"{len(orphans)} job(s) belong to roles that no longer exist; such jobs can keep the "
        "scheduler from starting (pg_cron #399).",
        "\n".join(fixes),
        tuple(f"{job_label(j)} is owned by {j['username']!r}, which no longer exists"
              for j in orphans))


# -- 7. jobs that connect to the wrong port or host -----------------------------------------

def node_check(ctx: Context) -> Finding:
    name = "jobs.node"
    if ctx.facts.in_recovery:
        # The jobs carry the primary's port and host: this server's are not the measure.
        return Finding(name, OK, ON_STANDBY.format(
            what="the jobs' stored host and port are the primary's, as they should be"))
    if blocked := cannot_read(ctx, name):
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
        recent = finished_runs(ctx.runs.get(job["jobid"], []))[-3:]
        failing = any(r.status == "failed" and "connection failed" in (r.message or "").lower()
                      for r in recent)
        wrong.append((job, what, failing))
    unsure = "" if host is not None else " (cron.host is unreadable for this role)"
    if not wrong:
        return Finding(name, OK, f"Every job connects to this server's port {port}{unsure}"
                                 f"{scope_note(ctx)}.")
    ids = ", ".join(str(j["jobid"]) for j, _, _ in wrong)
    fixes = []
    if any(j["nodeport"] != port for j, _, _ in wrong):
        fixes.append(set_nodeport(port, [j["jobid"] for j, _, _ in wrong
                                         if j["nodeport"] != port]))
    if host is not None and any(j["nodename"] != host for j, _, _ in wrong):
        fixes.append(set_nodename(host, [j["jobid"] for j, _, _ in wrong
                                         if j["nodename"] != host]))
    fix = "as a superuser:\n" + "\n".join(fixes)
    details = tuple(f"{job_label(j)}: {'; '.join(what)}"
                    + ("; its recent runs say 'connection failed'" if failing else "")
                    for j, what, failing in wrong)
    if any(failing for _, _, failing in wrong):
        return Finding(name, PROBLEM,
                       f"Job(s) {ids} connect to another port or host than this server's, and "
                       "their runs fail with 'connection failed'.", fix, details)
    return Finding(name, WARNING,
                   f"Job(s) {ids} connect to another port or host than this server's (pg_cron "
                   "stores both in each job when it is scheduled).", fix, details)
