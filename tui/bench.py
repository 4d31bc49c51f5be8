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
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql

from tui.db.client import LOOKBACK_RUNS
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
    scheduler); jobids 1..J. One in ten of those that never ran is paused."""
    mix = Mix(jobs)
    conn.execute("delete from cron.job")
    conn.execute("select setval('cron.jobid_seq', 1, false)")
    conn.execute(
        "insert into cron.job (jobid, schedule, command, nodename, nodeport, database, "
        "username, active, jobname) "
        "select i, " + Mix.SCHEDULE_SQL + ", "
        "  case when mod(i, 7) = 0 then 'call public.refresh_report(' || i || ')' "
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


# -- server time per refresh ------------------------------------------------------------

@dataclass
class Timing:
    median_ms: float
    buffers: int  # shared blocks hit + read, of the median run


def explain_ms(conn: psycopg.Connection, statement: sql.Composable | str,
               params: dict[str, Any] | None = None, *, runs: int = 5) -> Timing:
    """Planning + execution time on the server, EXPLAIN (ANALYZE, BUFFERS, TIMING OFF): the
    per-node clock is off, so instrumenting ten thousand index probes does not inflate the
    figure. The median of `runs` runs after one warm-up."""
    if isinstance(statement, str):
        statement = sql.SQL(statement)  # type: ignore[arg-type]
    explain = sql.SQL("explain (analyze, buffers, timing off, format json) ") + statement
    samples: list[tuple[float, int]] = []
    for i in range(runs + 1):
        (plan,) = conn.execute(explain, params).fetchone()[0]  # type: ignore[index]
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


def steady_state(conn: psycopg.Connection, *, indexed: bool, runs: int) -> dict[str, Timing]:
    """Our queries as one steady-state refresh issues them: facts, the jobs' changes since
    the last refresh (a few new runs, two unfinished), the run stream's new and unfinished
    runs. And the full read of every job's latest run, done at start and every 30th time."""
    newest = conn.execute("select max(runid) from cron.job_run_details").fetchone()[0]  # type: ignore[index]
    unfinished = [r for (r,) in conn.execute(
        "select runid from cron.job_run_details where runid > %s and end_time is null",
        [newest - 1000])]
    out = {
        "facts": explain_ms(conn, query("facts"), runs=runs),
        "jobs_changes": explain_ms(conn, query("jobs_changes"),
                                   {"after": newest - 205, "watch": unfinished}, runs=runs),
        "runs_after": explain_ms(conn, query("runs_after"),
                                 {"after": newest - 5, "limit": 1000, "jobid": None,
                                  "status": None}, runs=runs),
        "runs_by_ids": explain_ms(conn, query("runs_by_ids"), {"ids": unfinished}, runs=runs),
    }
    from tui.insight import lag

    # Read once a minute, not at each refresh: shown apart, not in the refresh's sum.
    out["usual lag/duration"] = explain_ms(conn, query("insight_recent_runs"),
                                           {"lookback": lag.LOOKBACK, "per_job": lag.PER_JOB},
                                           runs=runs)
    if indexed:
        out["jobs (full)"] = explain_ms(conn, query("jobs_indexed"), runs=runs)
    else:
        out["jobs (full)"] = explain_ms(conn, query("jobs_lookback"),
                                        {"lookback": LOOKBACK_RUNS}, runs=runs)
    return out


def naive(conn: psycopg.Connection, *, runs: int) -> dict[str, Timing]:
    return {"recent 100 by start_time": explain_ms(conn, NAIVE_RECENT, runs=runs),
            "DISTINCT ON latest per job": explain_ms(conn, NAIVE_DISTINCT, runs=runs),
            "row_number() CTE latest per job": explain_ms(conn, NAIVE_CTE, runs=runs)}


STEADY = ("facts", "jobs_changes", "runs_after", "runs_by_ids")


def refresh_ms(t: dict[str, Timing]) -> float:
    """One steady-state refresh of ours."""
    return sum(t[k].median_ms for k in STEADY)


def amortized_ms(t: dict[str, Timing]) -> float:
    """A refresh on average, counting the full read every 30th time."""
    from tui.db.stream import FULL_EVERY

    return refresh_ms(t) + t["jobs (full)"].median_ms / FULL_EVERY


def naive_refresh_ms(t: dict[str, Timing]) -> float:
    """A dashboard's refresh: the newest 100 runs, and the latest run of each job."""
    return t["recent 100 by start_time"].median_ms + t["DISTINCT ON latest per job"].median_ms


# -- the app, headless ----------------------------------------------------------------

def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class AppFigures:
    first_screen_s: float = float("nan")
    idle_cpu_pct: float = float("nan")
    idle_s: float = 0
    idle_runs: int = 0
    rss_before_mb: float = float("nan")
    rss_after_mb: float = float("nan")
    streamed: int = 0
    keys: dict[str, float] = field(default_factory=dict)


async def measure_app(dsn: str, *, jobs: int, idle_s: float, stream_runs: int,
                      log: Callable[[str], None]) -> AppFigures:
    from tui.app import CronJobsApp
    from tui.config import Settings
    from tui.db import ConnectOptions

    figures = AppFigures()
    start = time.perf_counter()
    app = CronJobsApp(ConnectOptions(dbname=dsn), Settings())
    async with app.run_test(size=(160, 50)) as pilot:
        async def until(condition: Callable[[], Any], timeout: float = 120) -> None:
            deadline = time.perf_counter() + timeout
            while not condition():
                if time.perf_counter() > deadline:
                    raise TimeoutError("the app did not get there in time")
                await asyncio.sleep(0.001)

        await until(lambda: app.facts is not None and len(app.main.jobs_table.rows) >= jobs
                    and app.main.runs_table.row_count > 0)
        await pilot.pause()
        figures.first_screen_s = time.perf_counter() - start
        log(f"  first screen {figures.first_screen_s:.2f} s")

        table = app.main.jobs_table
        await pilot.pause(1)
        # The screen "answers" when the compositor hands an update with the change to the
        # display (headless, it is rendered and then not written): timed from the key event.
        painted: list[float] = []
        display = app._display

        def timed_display(screen: Any, renderable: Any) -> None:
            display(screen, renderable)
            if renderable is not None:
                painted.append(time.perf_counter())

        app._display = timed_display  # type: ignore[method-assign]
        for name, key, check in [
            ("down", "down", lambda before: table.cursor_row == before + 1),
            ("o (sort)", "o", None),
            ("pagedown", "pagedown", lambda before: table.cursor_row > before),
            ("o (sort) again", "o", None),
            ("up", "up", lambda before: table.cursor_row == before - 1),
        ]:
            before, sort = table.cursor_row, table.sort
            t0 = time.perf_counter()
            app.simulate_key(key)
            if check is None:
                await until(lambda s=sort: table.sort != s)
            else:
                await until(lambda b=before, c=check: c(b))
            changed = time.perf_counter()
            await until(lambda c=changed: bool(painted) and painted[-1] >= c)
            figures.keys[name] = (painted[-1] - t0) * 1000
            await pilot.pause(0.5)
        app._display = display  # type: ignore[method-assign]
        log("  keys " + ", ".join(f"{k} {v:.0f} ms" for k, v in figures.keys.items()))

        await pilot.pause(3)  # let the refresh after the key presses settle
        # Idle for the operator, not for the app: pg_cron goes on running the jobs (about a
        # run a second), which the app streams and shows.
        runid0 = app.stream.last_runid or 0
        cpu0, wall0 = time.process_time(), time.perf_counter()
        await asyncio.sleep(idle_s)
        cpu1, wall1 = time.process_time(), time.perf_counter()
        figures.idle_s = wall1 - wall0
        figures.idle_cpu_pct = 100 * (cpu1 - cpu0) / (wall1 - wall0)
        figures.idle_runs = (app.stream.last_runid or 0) - runid0
        log(f"  idle CPU {figures.idle_cpu_pct:.2f}% over {figures.idle_s:.0f} s, "
            f"{figures.idle_runs} runs streamed meanwhile")

        figures.rss_before_mb = rss_mb()
        if stream_runs:
            first = app.stream.last_runid or 0
            await asyncio.to_thread(_insert_live_runs, dsn, jobs, stream_runs)
            target = await asyncio.to_thread(_newest, dsn)
            await until(lambda: (app.stream.last_runid or 0) >= target, timeout=120)
            await pilot.pause(3)
            figures.streamed = target - first
        figures.rss_after_mb = rss_mb()
        log(f"  RSS {figures.rss_before_mb:.0f} MB -> {figures.rss_after_mb:.0f} MB")
    return figures


def _newest(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select max(runid) from cron.job_run_details").fetchone()[0]  # type: ignore[index]


def _insert_live_runs(dsn: str, jobs: int, count: int, batch: int = 20_000) -> None:
    """`count` new runs, `batch` at a time, finished ones with the odd failure, while the
    app's stream polls (each batch a transaction, a pause between batches)."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        done = 0
        while done < count:
            n = min(batch, count - done)
            conn.execute(
                "insert into cron.job_run_details (jobid, runid, job_pid, database, username,"
                " command, status, return_message, start_time, end_time) "
                "select 1 + mod(i, %(jobs)s), nextval('cron.runid_seq'), 4242, "
                " current_database(), current_user, 'select 1', "
                " case when mod(i, 50) = 0 then 'failed' else 'succeeded' end, "
                " case when mod(i, 50) = 0 then 'ERROR:  boom' else 'SELECT 1' end, "
                " now(), now() + interval '1 second' "
                "from generate_series(1, %(n)s) as i", {"jobs": max(jobs // 2, 1), "n": n})
            done += n
            time.sleep(0.2)


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
    ours_lookback: dict[str, Timing]
    ours_indexed: dict[str, Timing]
    naive: dict[str, Timing]


def run(jobs: int, sizes: list[int], *, quick: bool, idle_s: float, stream_runs: int,
        log: Callable[[str], None]) -> tuple[list[Stage], AppFigures | None, float]:
    from tui.sandbox import throwaway

    runs = 3 if quick else 5
    sandbox = throwaway(settings=SERVER_SETTINGS)
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
                lookback = steady_state(conn, indexed=False, runs=runs)
                t = time.perf_counter()
                conn.execute(query("maint_create_index"))
                index_s = time.perf_counter() - t
                log(f"  index built in {index_s:.1f} s")
                indexed = steady_state(conn, indexed=True, runs=runs)
                naive_t = naive(conn, runs=1 if size >= 5_000_000 else runs)
                log(f"  ours {_fmt_ms(refresh_ms(indexed))} ms, naive "
                    f"{_fmt_ms(naive_refresh_ms(naive_t))} ms")
                stages.append(Stage(size, load_s, index_s, lookback, indexed, naive_t))
                if size != final:
                    conn.execute(query("maint_drop_index"))  # the next load is faster without
        log(f"the app against H={final:,} runs, {jobs:,} jobs:")
        figures = asyncio.run(measure_app(dsn, jobs=jobs, idle_s=idle_s,
                                          stream_runs=stream_runs, log=log))
    finally:
        sandbox.destroy()
    return stages, figures, 0.0


def report(jobs: int, stages: list[Stage], app: AppFigures | None) -> str:
    lines: list[str] = []
    head = ["", *(f"H={s.rows:,}" for s in stages)]
    rows: list[list[str]] = []

    def row(label: str, values: list[str]) -> None:
        rows.append([label, *values])

    row("load (s) / index build (s)", [f"{s.load_s:.1f} / {s.index_s:.1f}" for s in stages])
    for key in STEADY:
        row(f"ours: {key} (ms)", [_fmt_ms(s.ours_indexed[key].median_ms) for s in stages])
    row("OURS: steady refresh (ms)", [_fmt_ms(refresh_ms(s.ours_indexed)) for s in stages])
    row("ours: jobs full, indexed (ms)",
        [_fmt_ms(s.ours_indexed["jobs (full)"].median_ms) for s in stages])
    row("ours: refresh amortized (ms)", [_fmt_ms(amortized_ms(s.ours_indexed)) for s in stages])
    row("ours: usual lag/duration, once a minute (ms)",
        [_fmt_ms(s.ours_indexed["usual lag/duration"].median_ms) for s in stages])
    row("ours, no index: steady refresh (ms)",
        [_fmt_ms(refresh_ms(s.ours_lookback)) for s in stages])
    row("ours, no index: jobs full look-back (ms)",
        [_fmt_ms(s.ours_lookback["jobs (full)"].median_ms) for s in stages])
    for key in ("recent 100 by start_time", "DISTINCT ON latest per job",
                "row_number() CTE latest per job"):
        row(f"naive: {key} (ms)", [_fmt_ms(s.naive[key].median_ms) for s in stages])
    row("NAIVE: refresh (recent + DISTINCT ON) (ms)",
        [_fmt_ms(naive_refresh_ms(s.naive)) for s in stages])
    row("naive / ours (steady)",
        [_ratio(naive_refresh_ms(s.naive), refresh_ms(s.ours_indexed)) for s in stages])
    row("naive / ours (amortized)",
        [_ratio(naive_refresh_ms(s.naive), amortized_ms(s.ours_indexed)) for s in stages])
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines.append(f"Server time per refresh, {jobs:,} jobs (EXPLAIN ANALYZE, median):")
    for r in [head, *rows]:
        lines.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                               for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    if len(stages) >= 2:
        a, b = stages[0], stages[-1]
        steady = _ratio(refresh_ms(b.ours_indexed), refresh_ms(a.ours_indexed))
        amortized = _ratio(amortized_ms(b.ours_indexed), amortized_ms(a.ours_indexed))
        no_index = _ratio(refresh_ms(b.ours_lookback), refresh_ms(a.ours_lookback))
        lines.append(f"growth of our steady refresh {a.rows:,} -> {b.rows:,}: {steady} "
                     f"(amortized {amortized}, no index {no_index})   target < 1.5x")
        vs = _ratio(naive_refresh_ms(b.naive), refresh_ms(b.ours_indexed))
        vs_amortized = _ratio(naive_refresh_ms(b.naive), amortized_ms(b.ours_indexed))
        lines.append(f"naive / ours at {b.rows:,}: {vs} (amortized {vs_amortized})"
                     "   target >= 50x")
    if app is not None:
        lines.append("")
        lines.append(f"The app, headless, {jobs:,} jobs, H={stages[-1].rows:,}:")
        lines.append(f"  first complete screen       {app.first_screen_s:8.2f} s     "
                     "target < 1.5 s")
        lines.append(f"  idle CPU ({app.idle_s:.0f} s, refresh 2 s)  "
                     f"{app.idle_cpu_pct:8.2f} %     target < 2% of a core "
                     f"({app.idle_runs} runs streamed meanwhile)")
        lines.append(f"  RSS before streaming        {app.rss_before_mb:8.0f} MB")
        lines.append(f"  RSS after {app.streamed:,} runs "
                     f"{app.rss_after_mb:8.0f} MB    target < 200 MB")
        for key, ms in app.keys.items():
            lines.append(f"  key {key:<24}{ms:8.0f} ms    target < 100 ms")
    return "\n".join(lines)


def _sizes(text: str) -> list[int]:
    return sorted({int(float(v.replace("_", ""))) for v in text.split(",") if v.strip()})


def cmd_bench(args: argparse.Namespace) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    if args.mask:  # no cluster needed: mask() alone
        from tui import bench_mask

        return bench_mask.main(args)
    if args.quick:
        jobs, sizes, idle_s, stream = args.jobs or 200, _sizes(args.runs or "2000,20000"), 3.0, \
            5000
    else:
        jobs = args.jobs or 10_000
        sizes = _sizes(args.runs or "100000,1000000,10000000")
        idle_s, stream = args.idle, args.stream
    t0 = time.perf_counter()
    stages, app, _ = run(jobs, sizes, quick=args.quick, idle_s=idle_s, stream_runs=stream,
                         log=log)
    print(report(jobs, stages, app))
    print(f"(bench took {time.perf_counter() - t0:.0f} s)")
    return 0


def register(sub: Any, conn: argparse.ArgumentParser) -> None:
    bench = sub.add_parser("bench", add_help=False,
                           help="measure server time per refresh and the app at scale, in a "
                                "throwaway cluster")
    bench.add_argument("--jobs", type=int, default=None, help="jobs (default 10000)")
    bench.add_argument("--runs", default=None, metavar="H,H,...",
                       help="history sizes (default 100000,1000000,10000000)")
    bench.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    bench.add_argument("--idle", type=float, default=60.0,
                       help="seconds of idle measured (a whole minute: cron jobs start on it)")
    bench.add_argument("--stream", type=int, default=1_000_000,
                       help="new runs streamed for the memory figure")
    bench.add_argument("--mask", action="store_true",
                       help="only the cost of masking secrets, on ordinary and hostile "
                            "commands up to 1 MB, against the old implementation")
    bench.add_argument("--help", action="help")
    bench.set_defaults(handler=cmd_bench)
