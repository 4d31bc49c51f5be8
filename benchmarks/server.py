"""What the idle app costs the server, measured as an operator's DBA would: pg_stat_statements
(planning included: `pg_stat_statements.track_planning`), and the round trips its connection
makes, counted by benchmarks/proxy.py.

At each history size the real app runs headless against the bench's cluster, connected as a
role of its own (pg_stat_statements keeps no application name: its `userid` tells the app's
statements from the bench's own and from pg_cron's jobs'), through the proxy:

* a steady refresh: the role's statistics reset before each of REFRESHES refreshes and read
  after it; the median server time, statements and exchanges (a round trip is counted each
  time the server answers after the client spoke);
* the same refreshes with DELAY_S each way on the proxy: the time waited beyond the direct
  refresh, in round trips of 2 x DELAY_S (what an operator on a bastion host waits for);
* an idle minute: everything the app ran over as many refreshes as a minute holds (the
  refresh's periodic full read of the jobs, the once-a-minute reads of the usual figures and
  pg_net's answers included), scaled to a minute of wall time.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from benchmarks.proxy import Proxy

#: The server settings that make the statistics: merged into the bench's own.
SETTINGS = {"shared_preload_libraries": "'pg_cron,pg_stat_statements'",
            "pg_stat_statements.track_planning": "on",
            "pg_stat_statements.max": "10000"}

#: The app's own role: a superuser like the cluster's owner, so it sees every job.
ROLE = "cronjobs_tui_bench"
#: Steady refreshes sampled one by one (the median is kept), direct and through the delay:
#: half a minute of them, so the minute's burst of job starts weighs as it does in any.
REFRESHES = 15
#: Each direction's delay for the waited round trips: a 30 ms round trip.
DELAY_S = 0.015

#: Issue 30's targets.
TARGETS = {"steady_ms": "<= 1 ms", "steady_trips": "1", "minute_ms": "<= 45 ms"}


def prepare(conn: psycopg.Connection, dsn: str) -> str:
    """pg_stat_statements in the bench's database and the app's role; the app's DSN."""
    conn.execute("create extension if not exists pg_stat_statements")
    password = secrets.token_urlsafe(18)
    conn.execute(sql.SQL("create role {} login superuser password {}").format(
        sql.Identifier(ROLE), sql.Literal(password)))
    return make_conninfo(dsn, user=ROLE, password=password, passfile="")


# -- naming what pg_stat_statements saw ------------------------------------------------------

def _first_line(text: str) -> str:
    """A statement's first line, its parameters blanked: psycopg turns `%(name)s` into `$1`
    even in a comment, and `%%` into `%`."""
    first = text.strip().split("\n", 1)[0].strip()
    return re.sub(r"%\(\w+\)s|\$\d+", "?", first).replace("%%", "%")


def _names() -> dict[str, str]:
    """Each .sql file's first line (its comment, which the server sees) -> the file's name."""
    names: dict[str, str] = {}
    folder = resources.files("tui.db").joinpath("sql")
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".sql"):
            first = _first_line(entry.read_text(encoding="utf-8"))
            if first.startswith("--"):
                names.setdefault(first, entry.name.removesuffix(".sql"))
    return names


def statement_name(text: str, names: dict[str, str]) -> str:
    return names.get(_first_line(text)) or " ".join(text.split())[:40]


@dataclass
class Stats:
    """The app role's rows of pg_stat_statements, on the bench's own connection."""

    conn: psycopg.AsyncConnection
    userid: int
    names: dict[str, str] = field(default_factory=_names)

    async def reset(self) -> None:
        await self.conn.execute("select pg_stat_statements_reset(%s::oid)", [self.userid])

    async def read(self) -> dict[str, tuple[int, float]]:
        """Statement name -> (calls, server ms: planning + execution) since the reset."""
        cur = await self.conn.execute(
            "select query, calls, total_plan_time + total_exec_time from pg_stat_statements "
            "where userid = %s", [self.userid])
        out: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
        for text, calls, ms in await cur.fetchall():
            got = out[statement_name(text, self.names)]
            got[0] += calls
            got[1] += ms
        return {name: (int(c), float(ms)) for name, (c, ms) in out.items()}


def total(read: dict[str, tuple[int, float]]) -> tuple[int, float]:
    return sum(c for c, _ in read.values()), sum(ms for _, ms in read.values())


# -- the figures -----------------------------------------------------------------------------

@dataclass
class Sample:
    ms: float
    calls: int
    exchanges: int
    wall_s: float
    statements: dict[str, tuple[int, float]]


@dataclass
class ServerFigures:
    steady: list[Sample] = field(default_factory=list)  # direct
    plain: list[Sample] = field(default_factory=list)  # through the proxy, as a pooler
    delayed_s: list[float] = field(default_factory=list)  # refreshes' wall time, delayed
    window_s: float = float("nan")
    refreshes: int = 0  # in the idle window
    usual_reads: int = 0
    statements: dict[str, tuple[int, float]] = field(default_factory=dict)  # the idle window

    @staticmethod
    def _median(samples: list[Sample], pick: Callable[[Sample], float]) -> float:
        return statistics.median(pick(s) for s in samples) if samples else float("nan")

    @property
    def steady_ms(self) -> float:
        return self._median(self.steady, lambda s: s.ms)

    @property
    def steady_calls(self) -> float:
        return self._median(self.steady, lambda s: s.calls)

    @property
    def plain_ms(self) -> float:
        return self._median(self.plain, lambda s: s.ms)

    @property
    def exchanges(self) -> float:
        return self._median(self.plain, lambda s: s.exchanges)

    @property
    def waited_trips(self) -> float:
        """Round trips waited per refresh: (delayed - direct) / the round trip."""
        if not self.delayed_s or not self.plain:
            return float("nan")
        extra = statistics.median(self.delayed_s) - self._median(self.plain, lambda s: s.wall_s)
        return extra / (2 * DELAY_S)

    def per_minute(self, value: float) -> float:
        return value * 60 / self.window_s if self.window_s else float("nan")

    @property
    def minute_ms(self) -> float:
        return self.per_minute(total(self.statements)[1])

    @property
    def minute_calls(self) -> float:
        return self.per_minute(total(self.statements)[0])

    def minute_of(self, *names: str) -> float:
        """Server ms per idle minute of these statements (by .sql name)."""
        return self.per_minute(sum(ms for name, (_, ms) in self.statements.items()
                                   if name in names))

    def heaviest(self, n: int = 8) -> list[tuple[str, int, float]]:
        """The idle window's statements by server time, per minute: (name, calls, ms)."""
        rows = sorted(self.statements.items(), key=lambda kv: -kv[1][1])[:n]
        return [(name, round(self.per_minute(c)), self.per_minute(ms))
                for name, (c, ms) in rows]


# -- the app, metered ------------------------------------------------------------------------

class Meter:
    """Counts the app's refreshes and usual reads, and runs `after` inside the refresh's own
    worker once a refresh ends (before the app starts the once-a-minute reads it triggers),
    so a window's edges fall exactly between refreshes."""

    def __init__(self, source: Any):
        self.refreshes = 0
        self.usual_reads = 0
        self.before: Callable[[], Awaitable[None]] | None = None
        self.after: Callable[[float], Awaitable[None]] | None = None
        refresh, read_usual = source.refresh, source.read_usual

        async def metered_refresh() -> Any:
            if self.before is not None:
                await self.before()
            t0 = time.perf_counter()
            view = await refresh()
            wall = time.perf_counter() - t0
            self.refreshes += 1
            if self.after is not None:
                await self.after(wall)
            return view

        async def counted_read_usual() -> Any:
            view = await read_usual()
            self.usual_reads += 1
            return view

        source.refresh, source.read_usual = metered_refresh, counted_read_usual

    async def until(self, condition: Callable[[], bool], timeout: float = 300) -> None:
        deadline = time.perf_counter() + timeout
        while not condition():
            if time.perf_counter() > deadline:
                raise TimeoutError("the app did not refresh in time")
            await asyncio.sleep(0.05)


async def measure_server(app_dsn: str, bench_dsn: str, *, jobs: int, window: int,
                         refreshes: int = REFRESHES,
                         log: Callable[[str], None]) -> ServerFigures:
    """The app against the cluster as ROLE: connected directly, steady refreshes and an idle
    window of `window` refreshes; then through a proxy (where the app, as behind a pooler,
    prepares nothing), steady refreshes counted, and the same delayed."""
    from benchmarks.app import started

    figures = ServerFigures()
    target = conninfo_to_dict(app_dsn)
    async with await psycopg.AsyncConnection.connect(bench_dsn, autocommit=True) as conn:
        cur = await conn.execute("select oid from pg_roles where rolname = %s", [ROLE])
        (userid,) = await cur.fetchone()  # type: ignore[misc]
        stats = Stats(conn, userid)
        async with started(app_dsn, jobs) as (_, app, _pilot):
            meter = Meter(app.source)
            await meter.until(lambda: meter.usual_reads >= 1)  # past the first minute's
            figures.steady = await _steady(meter, stats, None, refreshes)
            await _idle_window(meter, stats, figures, window)
        with Proxy(str(target["host"]), int(str(target["port"]))) as proxy:
            async with started(proxy.conninfo(app_dsn), jobs) as (_, app, _pilot):
                meter = Meter(app.source)
                await meter.until(lambda: meter.usual_reads >= 1)
                figures.plain = await _steady(meter, stats, proxy, refreshes)
                proxy.delay_s = DELAY_S
                figures.delayed_s = [s.wall_s for s in
                                     await _steady(meter, stats, proxy, refreshes)]
            await asyncio.sleep(2 * DELAY_S + 0.5)  # the app's goodbyes through the proxy
    median = min(figures.steady, key=lambda s: abs(s.ms - figures.steady_ms))
    log(f"  steady refresh {figures.steady_ms:.2f} ms ({figures.plain_ms:.2f} plain), "
        f"{figures.steady_calls:g} statements, {figures.exchanges:g} exchanges, "
        f"{figures.waited_trips:.1f} waited; "
        + ", ".join(f"{k} {ms:.2f}" for k, (_, ms) in sorted(
            median.statements.items(), key=lambda kv: -kv[1][1])[:5]))
    log(f"  idle minute {figures.minute_ms:.1f} ms ({figures.refreshes} refreshes, "
        f"{figures.usual_reads} usual reads in {figures.window_s:.0f} s); "
        + ", ".join(f"{k} x{c} {ms:.1f}" for k, c, ms in figures.heaviest(5)))
    return figures


async def _steady(meter: Meter, stats: Stats, proxy: Proxy | None, refreshes: int
                  ) -> list[Sample]:
    """`refreshes` refreshes, each measured alone: the role's statistics reset before it and
    read after it (and the proxy's exchanges counted)."""
    samples: list[Sample] = []

    async def before() -> None:
        await stats.reset()
        if proxy is not None:
            proxy.reset()

    async def after(wall: float) -> None:
        exchanges = proxy.reset().round_trips if proxy is not None else 0
        read = await stats.read()
        calls, ms = total(read)
        samples.append(Sample(ms, calls, exchanges, wall, read))

    meter.before, meter.after = before, after
    n = meter.refreshes
    try:
        await meter.until(lambda: meter.refreshes >= n + refreshes)
    finally:
        meter.before = meter.after = None
    return samples


async def _idle_window(meter: Meter, stats: Stats, figures: ServerFigures,
                       window: int) -> None:
    """Everything the app ran over `window` refreshes, from the end of one refresh to the end
    of the window's last."""
    done = asyncio.Event()
    start: list[float] = []

    async def edge(_wall: float) -> None:
        if not start:
            await stats.reset()
            start.extend([time.perf_counter(), meter.refreshes, meter.usual_reads])
        elif meter.refreshes - start[1] >= window:
            figures.statements = await stats.read()
            figures.window_s = time.perf_counter() - start[0]
            figures.refreshes = int(meter.refreshes - start[1])
            figures.usual_reads = int(meter.usual_reads - start[2])
            meter.after = None
            done.set()

    meter.after = edge
    await asyncio.wait_for(done.wait(), timeout=window * 30 + 120)


# -- in a process of its own -----------------------------------------------------------------

def measure(app_dsn: str, bench_dsn: str, *, jobs: int, window: int, refreshes: int
            ) -> ServerFigures:
    """measure_server() in a process of its own: the app's memory and threads are gone when
    the bench goes on (its idle CPU and RSS figures are of one app). The log goes to stderr."""
    from benchmarks.app import CHECKOUT

    args = json.dumps({"app_dsn": app_dsn, "bench_dsn": bench_dsn, "jobs": jobs,
                       "window": window, "refreshes": refreshes})
    done = subprocess.run([sys.executable, "-m", "benchmarks.server"], input=args,
                          stdout=subprocess.PIPE, text=True, timeout=window * 30 + 600,
                          check=True, cwd=CHECKOUT)
    got = json.loads(done.stdout)

    def samples(key: str) -> list[Sample]:
        return [Sample(s["ms"], s["calls"], s["exchanges"], s["wall_s"],
                       {k: (c, ms) for k, (c, ms) in s["statements"].items()})
                for s in got.pop(key)]

    return ServerFigures(
        steady=samples("steady"), plain=samples("plain"),
        statements={k: (c, ms) for k, (c, ms) in got.pop("statements").items()}, **got)


def _main() -> None:
    from dataclasses import asdict

    args = json.loads(sys.stdin.read())

    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    figures = asyncio.run(measure_server(args["app_dsn"], args["bench_dsn"], jobs=args["jobs"],
                                         window=args["window"], refreshes=args["refreshes"],
                                         log=log))
    print(json.dumps(asdict(figures)))


if __name__ == "__main__":
    _main()
