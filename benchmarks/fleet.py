"""What a fleet costs a `watch` (`cronjobs-tui bench --fleet`, or `python -m benchmarks --fleet`).

Two measures, printed beside issue 30's targets; nothing here asserts on time:

* A watch pass over 1, 10 and 40 profiles, all in one process as `watch --fleet` runs them:
  a few throwaway clusters, several profiles per server (the machine cannot hold 40), named
  in a profiles file in a temporary directory as the app's config reads it. For each: the wall
  time of a first pass (everything read) and of a steady one, the process's resident memory,
  and the connections the watch holds (counted by the servers). Measured directly (local
  servers answer in microseconds: what is left is the watch's own CPU, serial in its one
  event loop) and through proxies that delay each direction (benchmarks/proxy.py: a fleet is
  remote; each proxy a process of its own). Then one profile behind a slow proxy: the
  others' reads take what they took.
* The server time of one steady pass at 10,000 jobs: pg_stat_statements with planning
  tracked, every statement of the watch's own role (BEGIN, limits and COMMIT included),
  while pg_cron runs the jobs as in production.
"""

from __future__ import annotations

import asyncio
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import psycopg

from benchmarks.app import CHECKOUT, rss_mb
from benchmarks.proxy import Proxy
from benchmarks.scale import SERVER_SETTINGS, create_jobs, load_runs, reserve_runids

#: Profiles watched at once.
FLEET_SIZES = (1, 10, 40)
#: Servers the fleet's profiles are spread over.
CLUSTERS = 4
#: Each fleet server: jobs and runs.
FLEET_JOBS = 100
FLEET_RUNS = 20_000
#: Steady passes timed for each fleet size (the median is shown).
PASSES = 5
#: The remote fleet: each direction delayed this much (a 30 ms round trip).
REMOTE_DELAY_S = 0.015
#: The slow profile: each direction delayed this much (a 0.5 s round trip).
SLOW_DELAY_S = 0.25
APP = "cronjobs-tui-bench-fleet"
WATCHER = "bench_watcher"
TARGET_RATIO = 3.0
TARGET_STEADY_MS = 10.0


@dataclass
class FleetFigures:
    profiles: int
    first_s: float
    steady_s: float
    rss_mb: float
    connections: int
    slowest_read_s: float


@dataclass
class SlowFigures:
    profiles: int
    delay_s: float
    pass_s: float
    slow_read_s: float
    others_max_s: float
    others_max_before_s: float


@dataclass
class ServerFigures:
    jobs: int
    runs: int
    steady_ms: float = float("nan")
    steady_calls: float = float("nan")
    full_ms: float = float("nan")
    interval_s: float = 30.0
    passes: int = 0
    new_runs: float = 0.0
    wall_ms: float = float("nan")  # a steady pass in this process, metrics kept (median)
    top: list[tuple[str, float]] = field(default_factory=list)

    periodic_ms: float = float("nan")  # a pass with the facts' periodic re-read

    def amortized_ms(self, interval_s: float = 30.0) -> float:
        """A pass on average, the periodic re-read every FULL_EVERY_S counted."""
        from tui.insight.memory import FULL_EVERY_S

        return self.steady_ms + (self.periodic_ms - self.steady_ms) * interval_s / FULL_EVERY_S


# -- the fleet ----------------------------------------------------------------------------

class Remote:
    """benchmarks/proxy.py in a process of its own (`python -m benchmarks.fleet HOST PORT
    DELAY`): its copying would otherwise take the GIL from the watch being measured."""

    def __init__(self, host: str, port: int, delay_s: float):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.fleet", host, str(port), str(delay_s)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=CHECKOUT)
        assert self.proc.stdout is not None
        self.port = int(self.proc.stdout.readline())

    def conninfo(self, dsn: str) -> str:
        from psycopg.conninfo import make_conninfo

        return make_conninfo(dsn, host="127.0.0.1", hostaddr="127.0.0.1", port=str(self.port))

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()  # the proxy's signal to end
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _serve_proxy(host: str, port: int, delay_s: float) -> None:
    """A Proxy until stdin closes; its port on stdout first."""
    with Proxy(host, port, delay_s=delay_s) as proxy:
        print(proxy.port, flush=True)
        sys.stdin.read()

def profiles_file(folder: Path, dsns: Sequence[str]) -> Path:
    """[profiles.pNN] tables, as `watch --fleet` reads them."""
    path = folder / "config.toml"
    lines = []
    for k, dsn in enumerate(dsns):
        lines += [f"[profiles.p{k:02d}]", f"dsn = {json.dumps(dsn)}", ""]
    path.write_text("\n".join(lines))
    path.chmod(0o600)
    return path


def fleet_watch(config: Path, names: Sequence[str]) -> Any:
    from tui.db import Database
    from tui.fleet import fleet_settings, options_for
    from tui.insight.watch import Options, State, Target, Watch

    settings, chosen = fleet_settings(str(config), list(names))
    targets = [Target(n, Database(replace(options_for(settings, n)[0], read_only=True)))
               for n in chosen]
    return Watch(targets, State(), [], Options(deadline_s=10), out=io.StringIO(),
                 err=io.StringIO())


async def _passes(watch: Any, passes: int) -> tuple[float, float, float]:
    """First pass, median steady pass (wall s), the slowest profile's reads in the last."""
    t = time.perf_counter()
    await watch.run_pass()
    first = time.perf_counter() - t
    steady = []
    for _ in range(passes):
        t = time.perf_counter()
        await watch.run_pass()
        steady.append(time.perf_counter() - t)
    return first, statistics.median(steady), max(t.took_s or 0 for t in watch.targets)


def _connections(dsns: Sequence[str]) -> int:
    total = 0
    for dsn in dsns:
        with psycopg.connect(dsn) as conn:
            row = conn.execute("select count(*) from pg_stat_activity "
                               "where application_name = %s", [APP]).fetchone()
            total += int(row[0]) if row else 0
    return total


async def _close(watch: Any) -> None:
    await asyncio.gather(*(t.db.close() for t in watch.targets), return_exceptions=True)


async def measure_fleet(folder: Path, dsns: Sequence[str], admin: Sequence[str],
                        sizes: Sequence[int], passes: int) -> list[FleetFigures]:
    """`dsns`: one a profile slot (cycled over the servers); `admin`: one a server."""
    config = profiles_file(folder, dsns)
    out = []
    for n in sizes:
        watch = fleet_watch(config, [f"p{k:02d}" for k in range(n)])
        try:
            first, steady, slowest = await _passes(watch, passes)
            out.append(FleetFigures(n, first, steady, rss_mb(), _connections(admin), slowest))
        finally:
            await _close(watch)
    return out


async def measure_slow(folder: Path, dsns: Sequence[str], slow_dsn: str, passes: int
                       ) -> SlowFigures:
    """The fleet with its first profile behind a slow proxy (`slow_dsn`)."""
    n = len(dsns)
    watch = fleet_watch(profiles_file(folder, dsns), [f"p{k:02d}" for k in range(n)])
    try:
        await _passes(watch, 1)
        before = max(t.took_s or 0 for t in watch.targets[1:])
    finally:
        await _close(watch)
    watch = fleet_watch(profiles_file(folder, [slow_dsn, *dsns[1:]]),
                        [f"p{k:02d}" for k in range(n)])
    try:
        _, pass_s, _ = await _passes(watch, passes)
        slow = watch.targets[0].took_s or 0
        others = max(t.took_s or 0 for t in watch.targets[1:])
    finally:
        await _close(watch)
    return SlowFigures(n, SLOW_DELAY_S, pass_s, slow, others, before)


def fill(dsn: str, jobs: int, runs: int, *, index: bool = True) -> None:
    """`jobs` jobs and `runs` runs (benchmarks/scale.py's mix), the (jobid, runid) index."""
    from psycopg import sql

    from tui.db.maintenance import INDEX_NAME
    from tui.db.queries import query

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("create extension if not exists pg_cron")
        reserve_runids(conn, runs)
        create_jobs(conn, jobs)
        chunk = 1_000_000
        for first in range(1, runs + 1, chunk):
            load_runs(conn, jobs, first, min(first + chunk - 1, runs), runs)
        if index:
            conn.execute(query("maint_create_index").format(index=sql.Identifier(INDEX_NAME)))
        conn.execute("vacuum analyze cron.job_run_details")


def with_app(dsn: str) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo(dsn, application_name=APP)


def run_fleet(*, sizes: Sequence[int] = FLEET_SIZES, clusters: int = CLUSTERS,
              jobs: int = FLEET_JOBS, runs: int = FLEET_RUNS, passes: int = PASSES,
              log: Callable[[str], None] = print
              ) -> tuple[list[FleetFigures], list[FleetFigures], SlowFigures | None]:
    """Direct and remote figures for each fleet size, and the slow-profile pass."""
    from tui.lab.sandbox import throwaway

    boxes = [throwaway(settings={"max_connections": "100"}) for _ in range(clusters)]
    try:
        for box in boxes:
            box.start()
            box.wait_ready()
            fill(box.conninfo(), jobs, runs)
        log(f"{clusters} clusters up, {jobs:,} jobs and {runs:,} runs each")
        admin = [box.conninfo() for box in boxes]
        most = max(sizes)
        direct = [with_app(admin[k % clusters]) for k in range(most)]
        with tempfile.TemporaryDirectory(prefix="cronjobs-tui-fleet-") as tmp:
            folder = Path(tmp)
            proxies = [Remote("127.0.0.1", box.port, REMOTE_DELAY_S) for box in boxes]
            slow_proxy = Remote("127.0.0.1", boxes[0].port, SLOW_DELAY_S)
            try:
                near = asyncio.run(measure_fleet(folder, direct, admin, sizes, passes))
                log("direct: " + ", ".join(f"{f.profiles}: {f.steady_s * 1000:.0f} ms"
                                           for f in near))
                remote = [with_app(proxies[k % clusters].conninfo(admin[k % clusters]))
                          for k in range(most)]
                far = asyncio.run(measure_fleet(folder, remote, admin, sizes, passes))
                log("remote: " + ", ".join(f"{f.profiles}: {f.steady_s * 1000:.0f} ms"
                                           for f in far))
                slow = asyncio.run(measure_slow(
                    folder, remote[:min(10, most)], with_app(slow_proxy.conninfo(admin[0])),
                    passes=2))
            finally:
                for p in [*proxies, slow_proxy]:
                    p.close()
    finally:
        for box in boxes:
            box.destroy()
    return near, far, slow


# -- a steady pass's server time ------------------------------------------------------------

STATEMENTS = (
    "select sum(total_exec_time + total_plan_time), sum(calls) from pg_stat_statements s "
    "join pg_roles r on r.oid = s.userid where r.rolname = %s")
TOP = (
    "select left(regexp_replace(query, '\\s+', ' ', 'g'), 60), "
    "sum(total_exec_time + total_plan_time) from pg_stat_statements s "
    "join pg_roles r on r.oid = s.userid where r.rolname = %s "
    "group by 1 order by 2 desc limit 6")


def _server_ms(conn: psycopg.Connection) -> tuple[float, float]:
    row = conn.execute(STATEMENTS, [WATCHER]).fetchone()
    return (float(row[0] or 0), float(row[1] or 0)) if row else (0.0, 0.0)


async def _watch_passes(dsn: str, admin: psycopg.Connection, passes: int, interval_s: float
                        ) -> ServerFigures:
    from tui.db import ConnectOptions, Database
    from tui.insight.metrics import Metrics
    from tui.insight.watch import Options, State, Target, Watch

    watch = Watch([Target("bench", Database(ConnectOptions(dbname=dsn)))], State(), [],
                  Options(deadline_s=10), Metrics(), out=io.StringIO(), err=io.StringIO())
    fig = ServerFigures(0, 0, interval_s=interval_s)
    try:
        admin.execute("select pg_stat_statements_reset()")
        await watch.run_pass()  # the first: everything read once
        fig.full_ms, _ = _server_ms(admin)
        await asyncio.sleep(interval_s)
        await watch.run_pass()  # the first steady pass (a page of the first runs)
        admin.execute("select pg_stat_statements_reset()")
        first = watch.state.cursors["bench"].last_runid or 0
        walls = []
        for _ in range(passes):
            await asyncio.sleep(interval_s)
            t = time.perf_counter()
            await watch.run_pass()
            walls.append((time.perf_counter() - t) * 1000)
        fig.wall_ms = statistics.median(walls)
        total, calls = _server_ms(admin)
        fig.top = [(str(q), float(ms) / passes)
                   for q, ms in admin.execute(TOP, [WATCHER]).fetchall()]
        fig.steady_ms, fig.steady_calls, fig.passes = total / passes, calls / passes, passes
        fig.new_runs = ((watch.state.cursors["bench"].last_runid or 0) - first) / passes
        from tui.insight.memory import FULL_EVERY_S

        watch.targets[0].memory.full_at = time.monotonic() - FULL_EVERY_S
        await asyncio.sleep(interval_s)
        admin.execute("select pg_stat_statements_reset()")
        await watch.run_pass()
        fig.periodic_ms, _ = _server_ms(admin)
    finally:
        await _close(watch)
    return fig


def run_server(*, jobs: int, runs: int, passes: int, interval_s: float,
               log: Callable[[str], None] = print) -> ServerFigures:
    from tui.lab.sandbox import throwaway

    settings = {**SERVER_SETTINGS,
                "shared_preload_libraries": "'pg_cron,pg_stat_statements'",
                "pg_stat_statements.track_planning": "on",
                "pg_stat_statements.track_utility": "on"}
    box = throwaway(settings=settings)
    try:
        box.start()
        box.wait_ready()
        t = time.perf_counter()
        fill(box.conninfo(), jobs, runs)
        log(f"{jobs:,} jobs, {runs:,} runs loaded in {time.perf_counter() - t:.0f} s")
        with psycopg.connect(box.conninfo(), autocommit=True) as admin:
            admin.execute("create extension if not exists pg_stat_statements")
            # A role of its own, so its statements are told from pg_cron's own work.
            admin.execute(f"create role {WATCHER} superuser login")
            fig = asyncio.run(_watch_passes(box.conninfo(user=WATCHER), admin, passes,
                                            interval_s))
    finally:
        box.destroy()
    fig.jobs, fig.runs = jobs, runs
    return fig


# -- the report -----------------------------------------------------------------------------

def report(near: list[FleetFigures], far: list[FleetFigures], slow: SlowFigures | None,
           server: ServerFigures | None) -> str:
    lines: list[str] = []

    def table(title: str, figs: list[FleetFigures]) -> None:
        if not figs:
            return
        lines.append(title)
        lines.append(f"  {'profiles':>8}  {'first pass':>10}  {'steady pass':>11}  "
                     f"{'slowest read':>12}  {'RSS (MB)':>8}  {'connections':>11}")
        for f in figs:
            lines.append(f"  {f.profiles:>8}  {f.first_s * 1000:>8.0f}ms  "
                         f"{f.steady_s * 1000:>9.1f}ms  {f.slowest_read_s * 1000:>10.1f}ms  "
                         f"{f.rss_mb:>8.0f}  {f.connections:>11}")
        one = next((f for f in figs if f.profiles == 1), None)
        most = figs[-1]
        if one is not None and most.profiles > 1 and one.steady_s:
            lines.append(f"  steady pass {most.profiles}/1: {most.steady_s / one.steady_s:.1f}x"
                         f"   target <= {TARGET_RATIO:g}x")

    table("watch --fleet, local servers (what is left is the watch's own CPU):", near)
    table(f"watch --fleet, each profile {REMOTE_DELAY_S * 2000:.0f} ms away (a proxy):", far)
    if slow is not None:
        lines.append(f"one of {slow.profiles} profiles {slow.delay_s * 2:g} s away: pass "
                     f"{slow.pass_s:.2f} s (the slow one's reads {slow.slow_read_s:.2f} s); "
                     f"the others' slowest read {slow.others_max_s * 1000:.0f} ms "
                     f"(without the slow one: {slow.others_max_before_s * 1000:.0f} ms)")
    if server is not None:
        lines.append(f"a steady watch pass's server time at {server.jobs:,} jobs and "
                     f"{server.runs:,} runs (pg_stat_statements, planning included; "
                     f"{server.new_runs:.0f} new runs a pass, {server.passes} passes "
                     f"{server.interval_s:g} s apart):")
        lines.append(f"  steady pass {server.steady_ms:.2f} ms ({server.steady_calls:.0f} "
                     f"statements)   target <= {TARGET_STEADY_MS:g} ms")
        lines.append(f"  its wall time here, metrics kept: {server.wall_ms:.0f} ms")
        lines.append(f"  first pass (everything read) {server.full_ms:.1f} ms; a pass with the "
                     f"facts read again (every 15 min) {server.periodic_ms:.1f} ms; "
                     f"amortized at --interval 30: {server.amortized_ms():.2f} ms a pass")
        for q, ms in server.top:
            lines.append(f"    {ms:7.2f} ms  {q}")
    return "\n".join(lines)


if __name__ == "__main__":
    _serve_proxy(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]))
