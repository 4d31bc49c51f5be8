"""SQL shown to an operator as the fix for a finding (the doctor's), never run here.

Each statement is a `sql/fix_*.sql` file of its own, shown as it is in the file (see
`queries.template`); values are put in by psycopg.sql, quoted.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from tui.db.queries import template


def _shown(statement: sql.Composable) -> str:
    return statement.as_string(None)


def _ids(jobids: Iterable[int]) -> sql.Composable:
    return sql.SQL(", ").join(sql.Literal(int(j)) for j in jobids)


def create_run_index() -> str:
    """The (jobid, runid) index pg_cron does not create."""
    return _shown(template("fix_create_index"))


def purge_history() -> str:
    """Deleting old runs in batches, then a job that keeps the history short."""
    return _shown(template("fix_purge_history"))


def set_nodeport(port: int, jobids: Iterable[int]) -> str:
    return _shown(template("fix_job_nodeport").format(port=sql.Literal(int(port)),
                                                   jobids=_ids(jobids)))


def set_nodename(host: str, jobids: Iterable[int]) -> str:
    return _shown(template("fix_job_nodename").format(host=sql.Literal(host), jobids=_ids(jobids)))


def mark_run_failed(runid: int) -> str:
    """For a run whose backend is gone: pg_cron would leave it 'running' until it restarts."""
    return _shown(template("fix_run_failed").format(runid=sql.Literal(int(runid))))
