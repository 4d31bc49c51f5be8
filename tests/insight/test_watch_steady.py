"""A watch that keeps what it read once (tui/insight/memory.py) says what a watch reading
everything each pass says; its steady pass is one round trip, and a scrape of /metrics reaches
no server at all. Counted through benchmarks/proxy.py, a real TCP proxy in front of the
cluster."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import httpx

from benchmarks.proxy import Proxy
from tests.conftest import Cluster
from tests.insight.test_explain import insert_run
from tui.db import ConnectOptions, Database
from tui.insight.memory import FULL_EVERY_S
from tui.insight.metrics import Metrics
from tui.insight.watch import Options, State, Target, Watch
from tui.lab.sandbox import free_port

NEVER = "0 3 1 1 *"  # never fires while a test runs: the tests write the runs
T0 = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)  # the watch's clock, pinned


def a_watch(conninfo: str, state: State) -> Watch:
    return Watch([Target("default", Database(ConnectOptions(dbname=conninfo)))], state, [],
                 Options(deadline_s=10), out=io.StringIO(), err=io.StringIO())


async def test_a_warm_watch_says_what_a_cold_one_says(fresh_cluster: Cluster) -> None:
    """The same changes seen by one watch kept across passes (reading only what changed) and
    by a new watch each pass (reading everything): the same episodes, pass by pass."""
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    a = c.value("select cron.schedule('ledger-close', %s, 'SELECT 1')", [NEVER])
    warm_state, cold_state = State(), State()
    warm = a_watch(c.conninfo, warm_state)
    now = c.value("select now()")
    ids: dict[str, int] = {"a": a}

    def run(job: str, status: str, end: bool = True, pid: int = 4242) -> None:
        with c.connect() as conn:
            runid = insert_run(conn, ids[job], now, now if end else None, status,
                               "ERROR:  boom" if status == "failed" else "SELECT 1")
            conn.execute("update cron.job_run_details set job_pid = %s where runid = %s",
                         [pid, runid])

    def schedule_b() -> None:
        ids["b"] = c.value("select cron.schedule('mirror', %s, 'SELECT 2')", [NEVER])

    steps: list[Callable[[], None]] = [
        lambda: None,
        lambda: run("a", "failed"),
        schedule_b,  # the jobs' fingerprint changes: read again
        lambda: run("b", "failed"),
        lambda: run("a", "succeeded"),
        # a run whose backend is gone (no backend has pid 1): orphaned
        lambda: run("a", "running", end=False, pid=1),
        lambda: c.sql("select cron.unschedule(%s)", [ids["b"]]),
        # the facts' periodic read: the rest stays as kept
        lambda: setattr(warm.targets[0].memory, "full_at", time.monotonic() - FULL_EVERY_S),
        lambda: c.sql("update cron.job_run_details set status = 'failed', end_time = now() "
                      "where jobid = %s and status = 'running'", [a]),
    ]
    said = []
    try:
        for minute, step in enumerate(steps):
            step()
            at = T0 + timedelta(minutes=minute)
            cold_watch = a_watch(c.conninfo, cold_state)
            try:
                cold = (await cold_watch.run_pass(now=at)).changes
            finally:
                await cold_watch.targets[0].db.close()
            hot = (await warm.run_pass(now=at)).changes
            said.append([(ch.state, ch.episode.kind, ch.episode.job) for ch in hot])
            assert said[-1] == [(ch.state, ch.episode.kind, ch.episode.job) for ch in cold]
    finally:
        await warm.targets[0].db.close()
    # And what they said is what happened.
    assert said[1] == [("firing", "failing", "ledger-close")]
    assert said[3] == [("firing", "failing", "mirror")]
    assert said[4] == [("resolved", "failing", "ledger-close")]
    assert ("firing", "orphaned", "ledger-close") in said[5]
    assert ("resolved", "failing", "mirror") in said[6]
    assert said[7] == []
    assert ("firing", "failing", "ledger-close") in said[8]
    w, k = warm_state.cursors["default"], cold_state.cursors["default"]
    assert (w.last_runid, w.open_runs, set(w.jobs_seen)) == (
        k.last_runid, k.open_runs, set(k.jobs_seen))


async def test_a_scrape_reaches_no_server(fresh_cluster: Cluster) -> None:
    """/metrics serves the last pass: scrapes between passes send nothing to the server (not
    a byte through the proxy) and say the same; the next pass's figures come with it."""
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    jobid = c.value("select cron.schedule('ledger-close', %s, 'SELECT 1')", [NEVER])
    metrics = Metrics()
    port = free_port()
    server, _thread = metrics.serve("127.0.0.1", port)
    with Proxy("127.0.0.1", c.sandbox.port) as proxy:
        watch = a_watch(proxy.conninfo(c.conninfo), State())
        watch.metrics = metrics
        try:
            await watch.run_pass(now=T0)
            for minute in (1, 2, 3):
                with c.connect() as conn:
                    now = c.value("select now()")
                    insert_run(conn, jobid, now, now, "failed", "ERROR:  boom")
                with proxy.measure() as passed:
                    await watch.run_pass(now=T0 + timedelta(minutes=minute))
                assert passed.round_trips > 0  # the proxy sees what a query sends
                with proxy.measure() as scrapes:
                    texts = [httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
                             for _ in range(3)]
                assert (scrapes.round_trips, scrapes.connections, scrapes.bytes_up) == (0, 0, 0)
                assert texts[0] == texts[1] == texts[2]
                # What the pass saw: every failed run counted, once.
                assert (f'pgcron_job_runs_total{{database="postgres",jobname="ledger-close",'
                        f'profile="default",status="failed"}} {float(minute)}') in texts[0]
        finally:
            await watch.targets[0].db.close()
            server.shutdown()


async def test_a_steady_pass_is_one_round_trip(fresh_cluster: Cluster) -> None:
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    jobid = c.value("select cron.schedule('ledger-close', %s, 'SELECT 1')", [NEVER])
    with Proxy("127.0.0.1", c.sandbox.port) as proxy:
        watch = a_watch(proxy.conninfo(c.conninfo), State())
        try:
            with proxy.measure() as first:
                await watch.run_pass(now=T0)  # reads everything once
            for minute in (1, 2, 3):
                with c.connect() as conn:
                    now = c.value("select now()")
                    insert_run(conn, jobid, now, now, "failed", "ERROR:  boom")
                with proxy.measure() as steady:
                    changes = (await watch.run_pass(now=T0 + timedelta(minutes=minute))).changes
                assert [ch.state for ch in changes] == (["firing"] if minute == 1 else [])
                # Pipelined, one exchange: the proxy may count a pipeline's answer in two.
                assert steady.round_trips <= 2, steady
                assert steady.connections == 0
                assert first.round_trips > steady.round_trips
        finally:
            await watch.targets[0].db.close()
