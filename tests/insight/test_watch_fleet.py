"""A fleet in one watch: profiles of one config watched at once, one of them a database that
accepts connections and never answers. The others' episodes come out while it still hangs."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.insight.receivers import Silent
from tests.insight.test_explain import insert_run
from tui.db import Database
from tui.fleet import fleet_settings, options_for
from tui.insight.watch import Options, State, Target, Watch


def config(tmp_path: Path, live: str, dead: str, n: int) -> Path:
    """`n` profiles: the third (or second of two) is the dead one."""
    path = tmp_path / "config.toml"
    lines = []
    for k in range(n):
        dsn = dead if k == min(2, n - 1) else live
        lines += [f"[profiles.db{k:02d}]", f"dsn = {json.dumps(dsn)}", ""]
    path.write_text("\n".join(lines))
    return path


def a_fleet_with_a_dead_one(c: Cluster, tmp_path: Path,
                            n: int) -> tuple[Silent, list[str], list[Target]]:
    """`n` profiles, one of them a server that never answers (given ten minutes to connect,
    it hangs for the whole test), the others one live cluster with a failing job."""
    c.sql("select cron.unschedule(jobid) from cron.job")
    jobid = c.value("select cron.schedule('ledger-close', '0 3 1 1 *', 'SELECT 1')")
    now = c.value("select now()")
    with c.connect() as conn:
        insert_run(conn, jobid, now - timedelta(minutes=1), now, "failed", "ERROR:  boom")
    silent = Silent()
    dead = f"host=127.0.0.1 port={silent.port} dbname=postgres"
    settings, names = fleet_settings(str(config(tmp_path, c.conninfo, dead, n)), [])
    targets = [Target(name, Database(replace(options_for(settings, name)[0],
                                             connect_timeout_s=600))) for name in names]
    return silent, names, targets


@pytest.mark.parametrize("n", [2, 20])
async def test_one_dead_database_delays_nobody(fresh_cluster: Cluster, tmp_path: Path,
                                               n: int) -> None:
    silent, names, targets = a_fleet_with_a_dead_one(fresh_cluster, tmp_path, n)
    out = io.StringIO()
    watch = Watch(targets, State(), [], Options(read_timeout_s=600), out=out,
                  err=io.StringIO())
    live = {name for name in names if name != f"db{min(2, n - 1):02d}"}
    task = asyncio.ensure_future(watch.run_pass())
    try:
        for _ in range(2400):  # a bounded wait for the live ones' episodes
            lines = [json.loads(x) for x in out.getvalue().splitlines()]
            if {d["profile"] for d in lines} >= live:
                break
            await asyncio.sleep(0.05)
        lines = [json.loads(x) for x in out.getvalue().splitlines()]
        # Each live profile's episode, labelled with it, while the dead one still hangs.
        assert not task.done()
        assert sorted(d["profile"] for d in lines) == sorted(live)
        assert {(d["state"], d["kind"], d["job"]) for d in lines} == {
            ("firing", "failing", "ledger-close")}
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.gather(*(t.db.close() for t in targets), return_exceptions=True)
        silent.close()


async def test_a_database_past_its_read_timeout_is_unreachable_for_the_pass(
        fresh_cluster: Cluster, tmp_path: Path) -> None:
    """Each profile has its own deadline: the pass ends with the live ones' episodes and the
    silent one unreachable ("no answer within 2 s"), and the next pass leaves it be (backoff)
    while the live ones are read again."""
    silent, names, targets = a_fleet_with_a_dead_one(fresh_cluster, tmp_path, 3)
    watch = Watch(targets, State(), [], Options(read_timeout_s=2), out=io.StringIO(),
                  err=io.StringIO())
    try:
        first = await asyncio.wait_for(watch.run_pass(), 120)
        assert sorted((ch.episode.profile, ch.episode.kind) for ch in first.changes) == [
            ("db00", "failing"), ("db01", "failing"), ("db02", "unreachable")]
        down = next(ch for ch in first.changes if ch.episode.profile == "db02")
        assert "no answer within 2 s" in down.message
        c = fresh_cluster
        (jobid,) = [j for (j,) in c.sql("select jobid from cron.job")]
        now = c.value("select now()")
        with c.connect() as conn:
            insert_run(conn, jobid, now, now, "succeeded", "SELECT 1")
        second = await asyncio.wait_for(watch.run_pass(), 120)
        assert sorted((ch.episode.profile, ch.state) for ch in second.changes) == [
            ("db00", "resolved"), ("db01", "resolved")]
    finally:
        await asyncio.gather(*(t.db.close() for t in targets), return_exceptions=True)
        silent.close()
