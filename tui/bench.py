"""`cronjobs-tui bench`: what a refresh costs the server and the operator, at scale.

It starts a throwaway cluster, fills pg_cron's tables with J jobs and H runs (a few very
frequent jobs holding most rows, many hourly and daily ones, some never run, some paused) and
measures, side by side in one run:

* the server time of one steady-state refresh of this app's queries against the naive queries a
  dashboard uses, at each history size (EXPLAIN ANALYZE planning + execution time, the median
  of several runs after a warm-up);
* the real app, headless: time to the first complete screen, CPU while idle, resident memory
  after streaming a million new runs, and the time a key press takes to answer.

Nothing here asserts: it prints figures and the ratios the targets are stated in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg

from tui.db.client import LOOKBACK_RUNS
from tui.db.queries import query

#: The server's settings for the bench: fast loading (this cluster is thrown away) and
#: pg_cron's scheduler alive but starting no job, so the figures are ours alone.
SERVER_SETTINGS = {
    "shared_buffers": "'512MB'",
    "work_mem": "'16MB'",
    "maintenance_work_mem": "'512MB'",
    "max_wal_size": "'8GB'",
    "checkpoint_timeout": "'30min'",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "autovacuum": "off",
    "cron.max_running_jobs": "0",
    "jit": "off",
}

INDEX_NAME = "job_run_details_jobid_runid_idx"
FREQUENT = 5  # '* * * * *' jobs: 60% of all runs
FIVE_MIN = 20  # '*/5 * * * *' jobs: 20% of all runs
SPAN_DAYS = 365  # the history covers a year, whatever its size


# -- building the data ---------------------------------------------------------------

@dataclass
class Mix:
    """Which jobids exist, which of them run, and how often."""

    jobs: int

    @property
    def ran(self) -> int:
        """Jobs with history: the frequent ones, then hourly and daily ones (80% of jobs)."""
        return max(FREQUENT + FIVE_MIN + 1, int(self.jobs * 0.8))

    def schedule_sql(self) -> str:
        """A SQL expression for job number i (1-based) among `jobs`."""
        return (
            "case when i <= {f} then '* * * * *' "
            "when i <= {f5} then '*/5 * * * *' "
            "when i <= {ran} and mod(i, 2) = 0 then (mod(i, 60))::text || ' * * * *' "
            "when i <= {ran} then (mod(i, 60))::text || ' ' || (mod(i, 24))::text || ' * * *' "
            "when mod(i, 2) = 0 then '0 4 1 1 *' "  # yearly: never ran yet
            "else '0 0 31 2 *' end"  # 31 February: never fires
        ).format(f=FREQUENT, f5=FREQUENT + FIVE_MIN, ran=self.ran)


def create_jobs(conn: psycopg.Connection, jobs: int) -> None:
    """J jobs written straight into cron.job (10,000 cron.schedule calls would each signal the
    scheduler); jobids 1..J. One in ten of those that never ran is paused."""
    mix = Mix(jobs)
    conn.execute("delete from cron.job")
    conn.execute("select setval('cron.jobid_seq', 1, false)")
    conn.execute(
        "insert into cron.job (jobid, schedule, command, nodename, nodeport, database, username,"
        " active, jobname) "
        f"select i, {mix.schedule_sql()}, "
        "  case when mod(i, 7) = 0 then 'call public.refresh_report(' || i || ')' "
        "       else 'select 1' end, "
        "  current_setting('cron.host'), inet_server_port(), current_database(), current_user, "
        f"  not (i > {mix.ran} and mod(i, 10) = 1), "
        "  'job-' || lpad(i::text, 5, '0') "
        "from generate_series(1, %s) as i", [jobs])  # noqa: S608 (our own constants)
    conn.execute("select setval('cron.jobid_seq', %s)", [jobs])


def load_runs(conn: psycopg.Connection, jobs: int, first: int, last: int, total: int) -> None:
    """Runs first..last (runids), of a history that will hold `total` runs over a year: 60% for
    the frequent jobs, 20% for the five-minute ones, the rest spread over hourly and daily ones.
    2% failed; the newest few still running; one in 50,000 left unfinished by a restart."""
    mix = Mix(jobs)
    others = mix.ran - FREQUENT - FIVE_MIN
    step_s = SPAN_DAYS * 86400 / total
    conn.execute(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command,"
        " status, return_message, start_time, end_time) "
        "select jobid, i, 10000 + mod(i, 50000), current_database(), current_user, 'select 1', "
        "  case when i > %(total)s - 3 then 'running' "
        "       when mod(i, 50000) = 7 then 'starting' "
        "       when mod(i, 50) = 0 then 'failed' else 'succeeded' end, "
        "  case when i > %(total)s - 3 then null "
        "       when mod(i, 50000) = 7 then null "
        "       when mod(i, 50) = 0 then 'ERROR:  canceling statement due to statement timeout' "
        "       else 'SELECT 1' end, "
        "  case when mod(i, 50000) = 7 then null else started end, "
        "  case when i > %(total)s - 3 or mod(i, 50000) = 7 then null "
        "       else started + make_interval(secs => (mod(i, 997)) / 100.0) end "
        "from (select i, "
        "        case when mod(i, 10) < 6 then 1 + mod(i, %(f)s) "
        "             when mod(i, 10) < 8 then 1 + %(f)s + mod(i, %(f5)s) "
        "             else 1 + %(f)s + %(f5)s + mod(hashint8(i) & 2147483647, %(others)s) end"
        "          as jobid, "
        "        now() - make_interval(secs => (%(total)s - i) * %(step)s) as started "
        "      from generate_series(%(first)s::bigint, %(last)s::bigint) as i) s",
        {"total": total, "f": FREQUENT, "f5": FIVE_MIN, "others": others, "step": step_s,
         "first": first, "last": last})
    conn.execute("select setval('cron.runid_seq', %s)", [last])
