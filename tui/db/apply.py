"""What `plan` and `apply` (tui.plan) do on the server: read the jobs a jobs file is compared
with, and write each change on the caller's connection, so that a whole plan is one
transaction. The steps are the app's own (tui.db.writes): one check of names, one verdict on
a schedule, one choice between cron.schedule and cron.schedule_in_database.
"""

from __future__ import annotations

from typing import Any

import psycopg

from tui.db.client import Database
from tui.db.writes import alter_params, fetch_rows, missing_names, names_context
from tui.models import Job


async def read_jobs(conn: psycopg.AsyncConnection) -> list[Job]:
    """Every job this role sees (no runs), on the caller's connection."""
    return [Job(**row) for row in await fetch_rows(conn, "plan_jobs", {})]


async def jobs(db: Database) -> list[Job]:
    """Every job this role sees (no runs), in one round trip."""
    return [Job(**row) for row in await db.fetch("plan_jobs")]


async def name_problems(db: Database, database: str, username: str) -> list[str]:
    """The database and role a job names, if either does not exist here (plain sentences)."""
    async def work(conn: psycopg.AsyncConnection) -> list[str]:
        ctx = await names_context(conn, database, username)
        return missing_names(ctx, database, username)

    return await db.with_connection(work)


async def alter(conn: psycopg.AsyncConnection, jobid: int, **changes: Any) -> None:
    """cron.alter_job with only `changes` given (the rest left as they are)."""
    await fetch_rows(conn, "action_alter_job", alter_params(jobid, **changes))


async def unschedule(conn: psycopg.AsyncConnection, jobid: int) -> None:
    await fetch_rows(conn, "action_unschedule", {"jobid": jobid})
