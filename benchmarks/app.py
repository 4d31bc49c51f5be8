"""The app's half of the scale benchmark (benchmarks/scale.py): the real app, headless, against
the bench's cluster: the first complete screen (the median of STARTS cold starts, each but the
last in a process of its own), key presses, CPU while idle, memory while a million runs stream
in.

A key press is timed from the key event to the moment the jobs table has drawn the change (its
`render_lines`, Textual's public Line API entry point, which the compositor calls while it
builds the update it hands to the terminal). The figures the tables measured when they were
Textual DataTables are in the README (*Scale*), beside a run of this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

#: The checkout these benchmarks are in: a cold start runs `python -m benchmarks.app` there.
CHECKOUT = Path(__file__).resolve().parent.parent

#: Issue 16's targets ("DataTable's": the run of the DataTable-based tables, in the README).
TARGETS = {"first complete screen (s)": "< 0.5 s", "idle CPU (%)": "<= DataTable's",
           "RSS before streaming (MB)": "", "RSS after streaming (MB)": "<= DataTable's"}
KEY_TARGET = "< 50 ms"


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


#: Cold starts timed for the first complete screen: one start is at the mercy of whatever the
#: machine does then (pg_cron starts a minute's jobs on the minute, say).
STARTS = 5


@dataclass
class AppFigures:
    first_screen_s: float = float("nan")  # the median of the starts
    first_screens: list[float] = field(default_factory=list)
    idle_cpu_pct: float = float("nan")
    idle_s: float = 0
    idle_runs: int = 0
    rss_before_mb: float = float("nan")
    rss_after_mb: float = float("nan")
    streamed: int = 0
    keys: dict[str, float] = field(default_factory=dict)


async def until(condition: Callable[[], Any], timeout: float = 120) -> None:
    deadline = time.perf_counter() + timeout
    while not condition():
        if time.perf_counter() > deadline:
            raise TimeoutError("the app did not get there in time")
        await asyncio.sleep(0.001)


@contextlib.asynccontextmanager
async def started(dsn: str, jobs: int) -> AsyncIterator[tuple[float, Any, Any]]:
    """The app, headless, against `dsn`, with the time from creating it to its first complete
    screen (every job in the table, the run stream filled): (seconds, app, pilot)."""
    from tui.config import Settings
    from tui.db import ConnectOptions
    from tui.ui.app import CronJobsApp

    CronJobsApp.freeze_heap()  # as its run() does: the bench drives it with run_test()
    start = time.perf_counter()
    app = CronJobsApp(ConnectOptions(dbname=dsn), Settings())
    async with app.run_test(size=(160, 50)) as pilot:
        await until(lambda: app.facts is not None and len(app.main.jobs_table.rows) >= jobs
                    and app.main.runs_table.row_count > 0)
        await pilot.pause()
        yield time.perf_counter() - start, app, pilot


async def _first_screen_s(dsn: str, jobs: int) -> float:
    async with started(dsn, jobs) as (seconds, _, _):
        return seconds


def cold_start(dsn: str, jobs: int) -> float:
    """One first complete screen, in a process of its own (nothing warm from an earlier
    start: caches, the collector's state)."""
    done = subprocess.run([sys.executable, "-m", "benchmarks.app", dsn, str(jobs)],
                          capture_output=True, text=True, timeout=300, check=True, cwd=CHECKOUT)
    return float(done.stdout.strip().splitlines()[-1])


async def measure_app(dsn: str, *, jobs: int, idle_s: float, stream_runs: int,
                      log: Callable[[str], None]) -> AppFigures:
    figures = AppFigures()
    for _ in range(STARTS - 1):
        figures.first_screens.append(await asyncio.to_thread(cold_start, dsn, jobs))
    async with started(dsn, jobs) as (seconds, app, pilot):
        figures.first_screens.append(seconds)
        figures.first_screen_s = statistics.median(figures.first_screens)
        log("  first screens " + ", ".join(f"{s:.2f}" for s in figures.first_screens) + " s")
        await _measure_running(app, pilot, figures, jobs=jobs, idle_s=idle_s,
                               stream_runs=stream_runs, dsn=dsn, log=log)
    return figures


async def measure_keys(app: Any, pilot: Any) -> dict[str, float]:
    """Each key's time (ms) from its key event to the first drawing of the jobs table that
    shows its effect: moves, sorts, the filter (local keys: no query answers them)."""
    table = app.main.jobs_table
    times: dict[str, float] = {}
    # Each drawing of the table, with what it showed: the answer to a key is the first
    # drawing after the key that shows its effect (a drawing may come before the polling
    # below notices the change, so the change is judged by what was drawn).
    painted: list[tuple[float, int, str, str]] = []
    render_lines = table.render_lines

    def timed_render_lines(crop: Any) -> Any:
        lines = render_lines(crop)
        painted.append((time.perf_counter(), table.cursor_row, table.sort, table.filter_text))
        return lines

    table.render_lines = timed_render_lines
    Shown = tuple[float, int, str, str]
    keys: list[tuple[str, str, Callable[[Shown, Shown], bool]]] = [
        ("down", "down", lambda was, now: now[1] == was[1] + 1),
        ("o (sort)", "o", lambda was, now: now[2] != was[2]),
        ("pagedown", "pagedown", lambda was, now: now[1] > was[1]),
        ("o (sort) again", "o", lambda was, now: now[2] != was[2]),
        ("up", "up", lambda was, now: now[1] == was[1] - 1),
        # The filter: `/` opens it, then each character filters all the jobs.
        ("filter: 9", "9", lambda was, now: now[3] == "9"),
        ("filter: 99", "9", lambda was, now: now[3] == "99"),
        ("filter cleared (Esc)", "escape", lambda was, now: now[3] == ""),
    ]
    for name, key, done in keys:
        if name == "filter: 9":
            app.simulate_key("slash")
            await pilot.pause(0.5)
        was = (0.0, table.cursor_row, table.sort, table.filter_text)
        seen = len(painted)
        t0 = time.perf_counter()
        app.simulate_key(key)

        def answered(seen: int = seen, was: Shown = was, done: Any = done) -> float | None:
            return next((p[0] for p in painted[seen:] if done(was, p)), None)

        await until(lambda: answered() is not None)
        at = answered()
        assert at is not None
        times[name] = (at - t0) * 1000
        await pilot.pause(0.5)
    del table.render_lines  # the class's own again
    return times


async def _measure_running(app: Any, pilot: Any, figures: AppFigures, *, jobs: int,
                           idle_s: float, stream_runs: int, dsn: str,
                           log: Callable[[str], None]) -> None:
    """Key presses, idle CPU and memory, on the app that drew its first screen."""
    await pilot.pause(1)
    figures.keys = await measure_keys(app, pilot)
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


def app_report(app: AppFigures, jobs: int, rows: int) -> list[str]:
    """The app's figures and the targets."""
    now = {"first complete screen (s)": f"{app.first_screen_s:.2f}",
           "idle CPU (%)": f"{app.idle_cpu_pct:.2f}",
           "RSS before streaming (MB)": f"{app.rss_before_mb:.0f}",
           "RSS after streaming (MB)": f"{app.rss_after_mb:.0f}",
           **{key: f"{ms:.0f}" for key, ms in app.keys.items()}}
    head = ["", "measured", "target"]
    rows_: list[list[str]] = []
    for label, value in now.items():
        target = TARGETS.get(label, KEY_TARGET)
        name = label if label in TARGETS else f"key {label} (ms)"
        rows_.append([name, value, target])
    widths = [max(len(r[i]) for r in [head, *rows_]) for i in range(len(head))]
    lines = [f"The app, headless, {jobs:,} jobs, H={rows:,}:"]
    for r in [head, *rows_]:
        lines.append("  " + "  ".join(c.ljust(w) if i in (0, 2) else c.rjust(w)
                                      for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    starts = ", ".join(f"{s:.2f}" for s in app.first_screens)
    lines.append(f"  first complete screen: the median of {len(app.first_screens)} cold starts "
                 f"({starts} s)")
    lines.append(f"  idle CPU over {app.idle_s:.0f} s at the 2 s refresh, {app.idle_runs} runs "
                 f"streamed meanwhile; RSS after {app.streamed:,} runs streamed")
    return lines


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


if __name__ == "__main__":  # cold_start(): one start in a process of its own
    print(asyncio.run(_first_screen_s(sys.argv[1], int(sys.argv[2]))))
