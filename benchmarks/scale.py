"""What a refresh costs the server and the operator, at scale (`python -m benchmarks`, or
`cronjobs-tui bench` from a checkout).

It starts a throwaway cluster, fills pg_cron's tables with J jobs and H runs (a few very
frequent jobs holding most rows, many hourly and daily ones, some never run, some paused) and
measures, side by side in one run:

* what the real app costs the server while idle, at each history size (benchmarks/server.py:
  pg_stat_statements of the app's own role, planning included, and the round trips through
  benchmarks/proxy.py): a steady refresh and an idle minute, everything included; beside it
  the naive queries a dashboard uses (EXPLAIN ANALYZE planning + execution time, the median
  of several runs after a warm-up);
* the real app, headless (benchmarks/app.py): time to the first complete screen, CPU while
  idle, resident memory after streaming a million new runs, and the time a key press takes to
  answer.

Nothing here asserts: it prints figures and the ratios the targets are stated in.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from benchmarks import server
from benchmarks.app import AppFigures, app_report, measure_app
from benchmarks.server import ServerFigures
from tui.db.maintenance import INDEX_NAME
from tui.db.queries import query

#: The server's settings for the bench: fast loading (this cluster is thrown away). pg_cron's
#: scheduler runs the jobs as it would in production (about one run a second for 10,000 jobs).
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
    "jit": "off",
}

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

    # A SQL expression for job number i (1-based); its bounds are bound parameters.
    SCHEDULE_SQL = (
        "case when i <= %(frequent)s then '* * * * *' "
        "when i <= %(five_min)s then '*/5 * * * *' "
        # i / 2: the hourly (even) and daily (odd) jobs each cover every minute of the hour
        "when i <= %(ran)s and mod(i, 2) = 0 then (mod(i / 2, 60))::text || ' * * * *' "
        "when i <= %(ran)s then (mod(i / 2, 60))::text || ' ' || (mod(i / 2, 24))::text "
        "  || ' * * *' "
        "when mod(i, 2) = 0 then '0 4 1 1 *' "  # yearly: never ran yet
        "else '0 0 31 2 *' end"  # 31 February: never fires
    )


def create_jobs(conn: psycopg.Connection, jobs: int) -> None:
    """J jobs written straight into cron.job (10,000 cron.schedule calls would each signal the
    scheduler); jobids 1..J. One in ten of those that never ran is paused; one in a thousand
    is an HTTP job."""
    mix = Mix(jobs)
    conn.execute("delete from cron.job")
    conn.execute("select setval('cron.jobid_seq', 1, false)")
    conn.execute(
        "insert into cron.job (jobid, schedule, command, nodename, nodeport, database, "
        "username, active, jobname) "
        "select i, " + Mix.SCHEDULE_SQL + ", "
        # One in a thousand calls a webhook through pg_net: the app reads pg_net's answers
        # for those once a minute (pg_net is not installed here: the read of their runs is
        # what it costs).
        "  case when mod(i, 1000) = 2 then 'select net.http_post(url := "
        "''https://hooks.example.com/job/' || i || ''')' "
        "       when mod(i, 7) = 0 then 'call public.refresh_report(' || i || ')' "
        "       else 'select 1' end, "
        "  current_setting('cron.host'), inet_server_port(), current_database(), current_user, "
        "  not (i > %(ran)s and mod(i, 10) = 1), "
        "  'job-' || lpad(i::text, 5, '0') "
        "from generate_series(1, %(jobs)s) as i",
        {"frequent": FREQUENT, "five_min": FREQUENT + FIVE_MIN, "ran": mix.ran, "jobs": jobs})
    conn.execute("select setval('cron.jobid_seq', %s)", [jobs])


def reserve_runids(conn: psycopg.Connection, total: int) -> None:
    """Runids 1..total for the loaded history: the scheduler, running the jobs meanwhile,
    numbers its runs after them (as newer runs are)."""
    conn.execute("select setval('cron.runid_seq', %s)", [total])


def load_runs(conn: psycopg.Connection, jobs: int, first: int, last: int, total: int) -> None:
    """Runs first..last (runids), of a history that will hold `total` runs over a year: 60% for
    the frequent jobs, 20% for the five-minute ones, the rest spread over hourly and daily ones.
    2% failed; the newest few still running; one in 50,000 left unfinished by a restart.
    Call reserve_runids(total) first."""
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


# -- the naive queries' server time ---------------------------------------------------------

@dataclass
class Timing:
    median_ms: float
    buffers: int  # shared blocks hit + read, of the median run


def explain_ms(conn: psycopg.Connection, statement: str, *, runs: int = 5) -> Timing:
    """Planning + execution time on the server, EXPLAIN (ANALYZE, BUFFERS, TIMING OFF): the
    per-node clock is off, so instrumenting a big scan does not inflate the figure. The
    median of `runs` runs after one warm-up."""
    explain = "explain (analyze, buffers, timing off, format json) " + statement
    samples: list[tuple[float, int]] = []
    for i in range(runs + 1):
        (plan,) = conn.execute(explain).fetchone()[0]  # type: ignore[index]
        top = plan["Plan"]
        blocks = top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)
        if i:
            samples.append((plan["Planning Time"] + plan["Execution Time"], blocks))
    samples.sort()
    ms, blocks = samples[len(samples) // 2]
    return Timing(statistics.median(s[0] for s in samples), blocks)


NAIVE_RECENT = "select * from cron.job_run_details order by start_time desc limit 100"
NAIVE_DISTINCT = ("select distinct on (jobid) * from cron.job_run_details "
                  "order by jobid, runid desc")
NAIVE_CTE = ("with ranked as (select d.*, row_number() over (partition by jobid "
             "order by runid desc) as n from cron.job_run_details d) "
             "select * from ranked where n = 1")


def naive(conn: psycopg.Connection, *, runs: int) -> dict[str, Timing]:
    return {"recent 100 by start_time": explain_ms(conn, NAIVE_RECENT, runs=runs),
            "DISTINCT ON latest per job": explain_ms(conn, NAIVE_DISTINCT, runs=runs),
            "row_number() CTE latest per job": explain_ms(conn, NAIVE_CTE, runs=runs)}


def naive_refresh_ms(t: dict[str, Timing]) -> float:
    """A dashboard's refresh: the newest 100 runs, and the latest run of each job."""
    return t["recent 100 by start_time"].median_ms + t["DISTINCT ON latest per job"].median_ms


#: The app's reads apart from its steady refresh, by .sql name (the idle minute's rows).
USUAL_READ = ("insight_recent_runs", "insight_unfinished", "insight_recent_since")
HTTP_READ = ("insight_runs_page", "insight_pg_net", "http_pg_net", "http_responses")
FULL_READ = ("jobs_indexed", "jobs_lookback", "jobs_lookback_complete")


# -- the run -------------------------------------------------------------------------

def _fmt_ms(ms: float) -> str:
    return f"{ms:,.1f}" if ms < 100 else f"{ms:,.0f}"


def _ratio(a: float, b: float) -> str:
    return f"{a / b:,.2f}x" if b else "-"


@dataclass
class Stage:
    rows: int
    load_s: float
    index_s: float
    server: ServerFigures
    naive: dict[str, Timing]


def run(jobs: int, sizes: list[int], *, quick: bool, idle_s: float, stream_runs: int,
        log: Callable[[str], None]) -> tuple[list[Stage], AppFigures | None, float]:
    from tui.config import Settings
    from tui.lab.sandbox import throwaway

    runs = 3 if quick else 5
    # The idle window: as many refreshes as idle_s holds (a minute: 30 at the 2 s refresh).
    window = max(2, round(idle_s / Settings().refresh_interval))
    sandbox = throwaway(settings={**SERVER_SETTINGS, **server.SETTINGS})
    stages: list[Stage] = []
    figures: AppFigures | None = None
    try:
        t0 = time.perf_counter()
        sandbox.start()
        sandbox.wait_ready()
        dsn = sandbox.conninfo()
        log(f"cluster up in {time.perf_counter() - t0:.1f} s ({sandbox.install.label})")
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("create extension if not exists pg_cron")
            app_dsn = server.prepare(conn, dsn)
            final = max(sizes)
            reserve_runids(conn, final)  # before the jobs exist, so before any of them runs
            create_jobs(conn, jobs)
            loaded = 0
            for size in sorted(sizes):
                t = time.perf_counter()
                chunk = 1_000_000
                for first in range(loaded + 1, size + 1, chunk):
                    load_runs(conn, jobs, first, min(first + chunk - 1, size), final)
                conn.execute("vacuum analyze cron.job_run_details")
                load_s = time.perf_counter() - t
                loaded = size
                log(f"H={size:,}: loaded in {load_s:.1f} s")
                t = time.perf_counter()
                conn.execute(query("maint_create_index").format(index=sql.Identifier(INDEX_NAME)))
                index_s = time.perf_counter() - t
                log(f"  index built in {index_s:.1f} s")
                naive_t = naive(conn, runs=1 if size >= 5_000_000 else runs)
                log(f"  naive refresh {_fmt_ms(naive_refresh_ms(naive_t))} ms")
                measured = server.measure(app_dsn, dsn, jobs=jobs, window=window,
                                          refreshes=3 if quick else server.REFRESHES)
                stages.append(Stage(size, load_s, index_s, measured, naive_t))
                if size != final:  # the next load is faster without
                    conn.execute(query("maint_drop_index").format(
                        index=sql.Identifier("cron", INDEX_NAME)))
        log(f"the app against H={final:,} runs, {jobs:,} jobs:")
        figures = asyncio.run(measure_app(dsn, jobs=jobs, idle_s=idle_s,
                                          stream_runs=stream_runs, log=log))
    finally:
        sandbox.destroy()
    return stages, figures, 0.0


def _table(head: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return ["  ".join(c.ljust(w) if i in (0, len(head) - 1) else c.rjust(w)
                      for i, (c, w) in enumerate(zip(r, widths))).rstrip()
            for r in [head, *rows]]


def report(jobs: int, stages: list[Stage], app: AppFigures | None) -> str:
    head = ["", *(f"H={s.rows:,}" for s in stages), "target"]
    rows: list[list[str]] = []

    def row(label: str, values: list[str], target: str = "") -> None:
        rows.append([label, *values, target])

    def each(pick: Callable[[ServerFigures], float], fmt: Callable[[float], str] = _fmt_ms
             ) -> list[str]:
        return [fmt(pick(s.server)) for s in stages]

    whole = "{:,.0f}".format
    row("load (s) / index build (s)", [f"{s.load_s:.1f} / {s.index_s:.1f}" for s in stages])
    row("STEADY REFRESH: server time (ms)", each(lambda f: f.steady_ms, "{:,.2f}".format),
        server.TARGETS["steady_ms"])
    row("  statements", each(lambda f: f.steady_calls, whole))
    row("  through a pooler: server time (ms)", each(lambda f: f.plain_ms, "{:,.2f}".format))
    row("  through a pooler: round trips (exchanges)", each(lambda f: f.exchanges, whole),
        server.TARGETS["steady_trips"])
    row(f"  round trips waited at {2000 * server.DELAY_S:.0f} ms RTT",
        each(lambda f: f.waited_trips, "{:,.1f}".format), server.TARGETS["steady_trips"])
    row("IDLE MINUTE: server time, everything (ms)", each(lambda f: f.minute_ms),
        server.TARGETS["minute_ms"])
    row("  of it the usual figures' read (ms)", each(lambda f: f.minute_of(*USUAL_READ)))
    row("  of it the jobs' full read (ms)", each(lambda f: f.minute_of(*FULL_READ)))
    row("  of it pg_net's answers' read (ms)", each(lambda f: f.minute_of(*HTTP_READ)))
    row("  statements", each(lambda f: f.minute_calls, whole))
    row("  measured over (s / refreshes / usual reads)",
        [f"{s.server.window_s:.0f} / {s.server.refreshes} / {s.server.usual_reads}"
         for s in stages])
    for key in ("recent 100 by start_time", "DISTINCT ON latest per job",
                "row_number() CTE latest per job"):
        row(f"naive: {key} (ms)", [_fmt_ms(s.naive[key].median_ms) for s in stages])
    row("NAIVE: refresh (recent + DISTINCT ON) (ms)",
        [_fmt_ms(naive_refresh_ms(s.naive)) for s in stages])
    row("naive / our steady refresh",
        [_ratio(naive_refresh_ms(s.naive), s.server.steady_ms) for s in stages], ">= 50x")
    lines = [f"What the idle app costs the server, {jobs:,} jobs, the (jobid, runid) index built "
             "(pg_stat_statements of the app's role,",
             "planning included; the naive queries by EXPLAIN ANALYZE; medians); direct, and "
             "through a proxy where the app prepares nothing:",
             *_table(head, rows)]
    if len(stages) >= 2:
        a, b = stages[-2], stages[-1]
        lines.append(f"growth {a.rows:,} -> {b.rows:,}: steady refresh "
                     f"{_ratio(b.server.steady_ms, a.server.steady_ms)}, idle minute "
                     f"{_ratio(b.server.minute_ms, a.server.minute_ms)}   target <= 1.5x")
    last = stages[-1]
    if last.server.statements:
        lines.append(f"an idle minute's statements at H={last.rows:,} (calls, server ms):")
        lines += ["  " + line for line in _table(
            ["", "calls", "ms"],
            [[name, whole(calls), f"{ms:,.2f}"] for name, calls, ms in last.server.heaviest()])]
    if app is not None:
        lines += ["", *app_report(app, jobs, stages[-1].rows)]
    return "\n".join(lines)
