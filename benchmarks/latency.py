"""What the operator waits for on a slow network (`cronjobs-tui bench --latency`): the app and
every read-only headless subcommand, direct and through a 30 ms round trip, side by side.

A bastion host 30 ms from a hosted database waits on round trips, not on server milliseconds.
This starts a throwaway cluster with scale.py's jobs and history (1,000 jobs and 100,000 runs
by default), and two proxies in front of it (benchmarks/proxy.py): one that adds nothing, one
that delays each direction by 15 ms. Through each it times the real app, headless (app.py's
`started` and `measure_keys`): the first complete screen, a steady refresh, `t` to its
dialog, `t` confirmed to the run's row in the stream, Enter to the detail view, the local
keys; then each headless subcommand. Exchanges are counted by the proxy (the server answered
after the client spoke; pipelined sends over-count a little); *waited round trips* are
(delayed - direct) / RTT: what the operator really waits for. Nothing asserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.app import cold_start, measure_keys, started, until
from benchmarks.proxy import Proxy
from benchmarks.scale import SERVER_SETTINGS, create_jobs, load_runs, reserve_runids

DELAY_S = 0.015  # each way
RTT_S = 2 * DELAY_S

#: The issue's targets at a 30 ms round trip.
FIRST_SCREEN_TARGET = "<= 1 s"
KEY_TARGET = "<= 150 ms"
ROW_TARGET = "<= 300 ms + job"
HEADLESS_TARGET = "<= 10 waited"

#: The job `t` runs (never scheduled to run: its dialog shows no run in progress) and the one
#: Enter opens (a frequent job: a full page of history), as scale.py numbers them.
TRIGGERED = "job-{never:05d}"
OPENED = "job-00001"


@dataclass
class Side:
    """One figure through one proxy."""

    seconds: float = float("nan")
    exchanges: int = 0
    connections: int = 0


@dataclass
class Row:
    label: str
    direct: Side = field(default_factory=Side)
    delayed: Side = field(default_factory=Side)
    target: str = ""

    @property
    def waited(self) -> float:
        return (self.delayed.seconds - self.direct.seconds) / RTT_S


@dataclass
class Figures:
    jobs: int
    runs: int
    app: list[Row] = field(default_factory=list)
    keys: list[Row] = field(default_factory=list)
    headless: list[Row] = field(default_factory=list)


def never_run_job(jobs: int) -> int:
    """A job scale.py schedules yearly (never ran), running `select 1`, active."""
    from benchmarks.scale import Mix

    for i in range(Mix(jobs).ran + 1, jobs + 1):
        if i % 2 == 0 and i % 7 and i % 10 != 1:
            return i
    return jobs  # a tiny bench: any job will do


# -- the app -----------------------------------------------------------------------------

@contextlib.contextmanager
def counted(proxy: Proxy, side: Side) -> Iterator[None]:
    """The block's wall time and what it cost through `proxy`, into `side`."""
    with proxy.measure() as counts:
        t0 = time.perf_counter()
        yield
        side.seconds = time.perf_counter() - t0
    side.exchanges, side.connections = counts.round_trips, counts.connections


async def app_figures(dsn: str, proxy: Proxy, *, jobs: int, starts: int,
                      log: Callable[[str], None]) -> dict[str, Side]:
    """The app through `proxy`: what each step took and cost."""
    from textual.widgets import Button

    from tui.ui.screens.confirm import RunNowScreen
    from tui.ui.screens.detail import JobDetailScreen

    out: dict[str, Side] = {}
    through = proxy.conninfo(dsn)
    colds = [await asyncio.to_thread(cold_start, through, jobs) for _ in range(starts)]
    proxy.reset()
    async with started(through, jobs) as (seconds, app, pilot):
        counts = proxy.reset()
        out["first complete screen"] = Side(statistics.median([*colds, seconds]),
                                            counts.round_trips, counts.connections)
        log(f"  first screens {', '.join(f'{s:.2f}' for s in [*colds, seconds])} s")
        await pilot.pause(1)

        # A steady refresh: the app's own, asked for now (the timer waits for the next one).
        refreshes = []
        for _ in range(3):
            side = Side()
            with counted(proxy, side):
                await app.refresh_data().wait()
            refreshes.append(side)
            await pilot.pause(0.3)
        out["steady refresh"] = sorted(refreshes, key=lambda s: s.seconds)[1]

        for name, ms in (await measure_keys(app, pilot)).items():
            out[f"key {name}"] = Side(ms / 1000)
        await pilot.pause(0.5)

        table = app.main.jobs_table
        triggered = never_run_job(jobs)
        table.move_cursor(row=table.index_of(str(triggered)))
        await pilot.pause(0.3)
        side = out["t to its dialog"] = Side()
        with counted(proxy, side):
            app.simulate_key("t")
            await until(lambda: isinstance(app.screen, RunNowScreen)
                        and app.screen.is_mounted)
        await pilot.pause(0.5)
        runs = app.main.runs_table.runs
        before = max(runs, default=0)
        side = out["t confirmed to the run's row"] = Side()
        with counted(proxy, side):
            app.screen.query_one("#confirm", Button).press()
            await until(lambda: any(r.jobid == triggered and r.runid > before
                                    for r in runs.values()))
        await pilot.pause(1)

        table.move_cursor(row=table.index_of("1"))
        await pilot.pause(0.3)
        side = out["Enter to the detail view"] = Side()
        history = out["Enter to the detail's history"] = Side()
        with counted(proxy, history):
            t0 = time.perf_counter()
            app.simulate_key("enter")
            await until(lambda: isinstance(app.screen, JobDetailScreen)
                        and app.screen.is_mounted)
            side.seconds = time.perf_counter() - t0
            await until(lambda: app.screen.query_one("#history").row_count > 0)
        await pilot.pause(1)  # its statistics and insight, read meanwhile, settle
        app.simulate_key("escape")
        await pilot.pause(0.3)
    return out


# -- the headless subcommands ------------------------------------------------------------

def headless_commands(jobs: int, plan_file: Path) -> list[tuple[str, list[str]]]:
    """Every read-only subcommand the README documents, and `run` (the headless `t`)."""
    opened, triggered = OPENED, TRIGGERED.format(never=never_run_job(jobs))
    return [
        ("jobs", ["jobs"]),
        ("jobs --json", ["jobs", "--json"]),
        ("runs", ["runs"]),
        ("runs --json", ["runs", "--json"]),
        ("runs --format csv", ["runs", "--format", "csv"]),
        ("runs --job JOB", ["runs", "--job", opened]),
        ("schedule --server", ["schedule", "0 3 * * SUN", "--server"]),
        ("doctor --json", ["doctor", "--json"]),
        ("explain JOB --json", ["explain", opened, "--json"]),
        ("timeline --json", ["timeline", "--json"]),
        ("plan FILE", ["plan", str(plan_file)]),
        ("watch --once", ["watch", "--once"]),
        ("run JOB --yes (writes)", ["run", triggered, "--yes"]),
    ]


def run_command(argv: Sequence[str], conninfo: str) -> float:
    """One subcommand in this process (warm: no import in the figure), its output dropped."""
    from tui.cli import main

    sink = io.StringIO()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        main([*argv, "-d", conninfo])
    return time.perf_counter() - t0


#: A subcommand whose first run takes longer is timed once each way: its own work (the doctor's
#: accuracy check over a week of fire times, say) dwarfs the round trips, and repeats would
#: take minutes.
LONG_S = 5.0


def headless_row(label: str, argv: list[str], dsn: str, direct: Proxy, delayed: Proxy,
                 repeat: int) -> Row:
    row = Row(label, target=HEADLESS_TARGET)
    with direct.measure() as counts:  # the first: imports and caches warmed, counted
        first = run_command(argv, direct.conninfo(dsn))
    if first > LONG_S:
        repeat = 1
    for proxy, side in ((direct, row.direct), (delayed, row.delayed)):
        times = [first] if proxy is direct and repeat == 1 else []
        while len(times) < repeat:
            with proxy.measure() as counts:
                times.append(run_command(argv, proxy.conninfo(dsn)))
        side.seconds = statistics.median(times)
        side.exchanges, side.connections = counts.round_trips, counts.connections
    return row


# -- the run -----------------------------------------------------------------------------

def build(dsn: str, jobs: int, runs: int, log: Callable[[str], None]) -> None:
    from tui.db.maintenance import INDEX_NAME
    from tui.db.queries import query

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_cron")
        reserve_runids(conn, runs)
        create_jobs(conn, jobs)
        for first in range(1, runs + 1, 1_000_000):
            load_runs(conn, jobs, first, min(first + 999_999, runs), runs)
        conn.execute("vacuum analyze cron.job_run_details")
        conn.execute(query("maint_create_index").format(index=sql.Identifier(INDEX_NAME)))
    log(f"{jobs:,} jobs and {runs:,} runs loaded, indexed")


def _plan_file(folder: Path) -> Path:
    path = folder / "jobs.toml"
    path.write_text('[[job]]\nname = "job-00001"\nschedule = "* * * * *"\n'
                    'command = "select 1"\n', encoding="utf-8")
    return path


def run(jobs: int, runs: int, *, quick: bool, log: Callable[[str], None]) -> Figures:
    from tui.lab.sandbox import throwaway

    figures = Figures(jobs, runs)
    sandbox = throwaway(settings=SERVER_SETTINGS)
    state = tempfile.TemporaryDirectory(prefix="cronjobs-tui-latency-")
    saved = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = state.name  # `t` and `run` write their audit log there
    try:
        sandbox.start()
        sandbox.wait_ready()
        dsn = sandbox.conninfo()
        build(dsn, jobs, runs, log)
        with Proxy("127.0.0.1", sandbox.port) as direct, \
                Proxy("127.0.0.1", sandbox.port, delay_s=DELAY_S) as delayed:
            sides = {}
            for name, proxy in (("direct", direct), ("delayed", delayed)):
                log(f"the app, {name}:")
                sides[name] = asyncio.run(app_figures(dsn, proxy, jobs=jobs,
                                                      starts=1 if quick else 3, log=log))
            for label in sides["direct"]:
                row = Row(label, sides["direct"][label], sides["delayed"][label])
                if label.startswith("key "):
                    row.target = KEY_TARGET
                    figures.keys.append(row)
                    continue
                row.target = {"first complete screen": FIRST_SCREEN_TARGET,
                              "t to its dialog": KEY_TARGET,
                              "Enter to the detail view": KEY_TARGET,
                              "t confirmed to the run's row": ROW_TARGET}.get(label, "")
                figures.app.append(row)
            plan = _plan_file(Path(state.name))
            for label, argv in headless_commands(jobs, plan):
                row = headless_row(label, argv, dsn, direct, delayed, 1 if quick else 3)
                log(f"  {label}: {row.direct.seconds:.2f} s -> {row.delayed.seconds:.2f} s, "
                    f"{row.direct.exchanges} exchanges")
                figures.headless.append(row)
    finally:
        if saved is None:
            os.environ.pop("XDG_STATE_HOME", None)
        else:
            os.environ["XDG_STATE_HOME"] = saved
        sandbox.destroy()
        state.cleanup()
    return figures


def _table(title: str, rows: list[Row], *, counts: bool = True) -> list[str]:
    head = ["", "direct", "30 ms RTT", "exchanges", "conns", "waited RTs", "target"]
    cells = []
    for r in rows:
        ms = r.direct.seconds < 1 and r.delayed.seconds < 1
        unit = (lambda s: f"{s * 1000:.0f} ms") if ms else (lambda s: f"{s:.2f} s")
        cells.append([r.label, unit(r.direct.seconds), unit(r.delayed.seconds),
                      str(r.direct.exchanges) if counts else "-",
                      str(r.direct.connections) if counts else "-",
                      f"{r.waited:.1f}" if r.direct.seconds <= LONG_S else "(work)", r.target])
    widths = [max(len(c[i]) for c in [head, *cells]) for i in range(len(head))]
    lines = [title]
    for c in [head, *cells]:
        lines.append("  " + "  ".join(x.ljust(w) if i in (0, 6) else x.rjust(w)
                                      for i, (x, w) in enumerate(zip(c, widths))).rstrip())
    return lines


def report(figures: Figures) -> str:
    lines = [f"Latency: {figures.jobs:,} jobs, {figures.runs:,} runs; direct and through a "
             f"proxy adding {DELAY_S * 1000:.0f} ms each way ({RTT_S * 1000:.0f} ms round trip)"]
    lines += _table("The app, headless:", figures.app)
    lines += _table("Local keys, to the first drawing that shows them:", figures.keys,
                    counts=False)
    lines += _table("Headless subcommands (median, in this process):", figures.headless)
    lines.append("exchanges: the server answered after the client spoke (direct path); waited "
                 "RTs: (30 ms RTT - direct) / 30 ms; (work): over "
                 f"{LONG_S:.0f} s of the command's own work, whose noise hides the round trips: "
                 "read the exchanges")
    return "\n".join(lines)
