"""Checks of pg_cron itself and of the server: installed, in this database, preloaded, its
launcher running, and whether this server is the primary where jobs run.
"""

from __future__ import annotations

from tui.doctor.base import (
    OK,
    ON_STANDBY,
    PROBLEM,
    UNKNOWN,
    WARNING,
    Context,
    Finding,
)

# -- 1. pg_cron itself -------------------------------------------------------------------

def pg_cron_checks(ctx: Context) -> list[Finding]:
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

def scheduler_check(ctx: Context) -> Finding:
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


def primary_check(ctx: Context) -> Finding:
    if ctx.facts.in_recovery:
        primary = ctx.facts.primary_address
        where = f" ({primary}, from this standby's settings)" if primary else ""
        return Finding("server.primary", WARNING,
                       "This server is a standby (in recovery): pg_cron runs no jobs here, "
                       "and nothing can be changed here.",
                       f"connect to the primary{where} to see and manage the jobs that run")
    return Finding("server.primary", OK, "This server is a primary, where pg_cron runs jobs.")
