"""One history, every surface: the jobs table (the real app through Pilot), its title counts
and `p`, the run stream, `jobs --json`, `doctor --json`, `explain` and `watch` say the same job is
failing, stuck, orphaned or paused, because they all ask tui/rules.py.

The orphaned run is made for real: a job runs `pg_sleep`, pg_cron's launcher is stopped
(SIGSTOP, as a launcher that never gets to look), and the job's backend is terminated with
pg_terminate_backend. Its row stays `running` with a pid that is no longer a backend, which is
what a crash or a failover leaves (pg_cron marks a run failed only when its own launcher sees
the connection go; a running launcher would, so it is stopped for the test and resumed after).
The stuck run is the issue's example: a job whose runs take 20 ms, running for 8 minutes, its
backend alive.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import Cluster
from tests.ui.conftest import running_app, wait_for
from tui.cli import main
from tui.db import ConnectOptions, Database
from tui.insight.watch import State, Target, Watch

NEVER = "0 0 31 2 *"  # valid for pg_cron, never fires
EXPECTED = {"agree-failing": "failing", "agree-stuck": "stuck", "agree-orphan": "orphaned",
            "agree-paused": "paused", "agree-fine": None}


async def cli_json(*args: str) -> Any:
    """A subcommand as a script runs it (its own event loop: in a thread of its own)."""
    def run() -> str:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(list(args))
        return out.getvalue()

    return json.loads(await asyncio.to_thread(run))


def insert_run(c: Cluster, jobid: int, status: str, start: datetime, took_s: float | None,
               pid: int, message: str | None = None) -> int:
    return c.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) select jobid, nextval('cron.runid_seq'), "
        "%s, database, username, command, %s, %s, %s, %s from cron.job where jobid = %s "
        "returning runid",
        [pid, status, message, start,
         start + timedelta(seconds=took_s) if took_s is not None else None, jobid])


@contextlib.contextmanager
def launcher_stopped(c: Cluster) -> Iterator[int]:
    pid = c.value("select pid from pg_stat_activity where backend_type = 'pg_cron launcher'")
    assert pid, "no pg_cron launcher"
    os.kill(pid, signal.SIGSTOP)
    try:
        yield pid
    finally:
        os.kill(pid, signal.SIGCONT)


def wait_value(c: Cluster, query: str, params: list[Any], timeout: float = 100) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = c.value(query, params)
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out: {query}")


@pytest.fixture
def history(fresh_cluster: Cluster) -> Iterator[dict[str, Any]]:
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")  # only this test's jobs: the counts
    orphan = c.value("select cron.schedule('agree-orphan', '* * * * *', "
                     "'select pg_sleep(600)')")
    orphan_run, pid = wait_value(
        c, "select array[runid, job_pid] from cron.job_run_details where jobid = %s and "
           "status = 'running' and job_pid is not null", [orphan])
    with launcher_stopped(c):
        assert c.value("select pg_terminate_backend(%s)", [pid])
        wait_value(c, "select not exists (select 1 from pg_stat_activity where pid = %s)",
                   [pid], timeout=30)
        assert c.value("select status from cron.job_run_details where runid = %s",
                       [orphan_run]) == "running"  # nobody will say otherwise now
        live = c.value("select pid from pg_stat_activity where backend_type = 'checkpointer'")
        minute = c.value("select date_trunc('minute', now())")
        ids = {"agree-orphan": orphan}
        for name, schedule in (("agree-stuck", "* * * * *"), ("agree-failing", NEVER),
                               ("agree-paused", NEVER), ("agree-fine", NEVER)):
            ids[name] = c.value("select cron.schedule(%s, %s, 'select 1')", [name, schedule])
        stuck = ids["agree-stuck"]
        for k in range(13, 8, -1):  # runs of 20 ms, a second after each minute mark
            insert_run(c, stuck, "succeeded", minute - timedelta(minutes=k, seconds=-1), 0.02,
                       live, "1 row")
        stuck_run = insert_run(c, stuck, "running", minute - timedelta(minutes=8, seconds=-1),
                               None, live)
        insert_run(c, ids["agree-failing"], "succeeded", minute - timedelta(minutes=30), 1,
                   live, "1 row")
        insert_run(c, ids["agree-failing"], "failed", minute - timedelta(minutes=20), 1, live,
                   "ERROR:  division by zero")
        c.sql("select cron.alter_job(%s, active := false)", [ids["agree-paused"]])
        for name in ("agree-paused", "agree-fine"):
            insert_run(c, ids[name], "succeeded", minute - timedelta(minutes=10), 1, live,
                       "1 row")
        yield {"cluster": c, "ids": ids, "orphan_run": orphan_run, "stuck_run": stuck_run,
               "minute": minute}


async def test_every_surface_agrees(history: dict[str, Any]) -> None:
    c: Cluster = history["cluster"]
    ids: dict[str, int] = history["ids"]
    names = {jobid: name for name, jobid in ids.items()}

    # jobs --json
    jobs = await cli_json("jobs", "--json", "-d", c.conninfo)
    said = {j["jobname"]: j["problem"] for j in jobs}
    assert said == EXPECTED

    # doctor --json: each problem's finding names exactly the jobs with that problem.
    report = await cli_json("doctor", "--json", "-d", c.conninfo)
    findings = {f["check"]: f for f in report["findings"]}

    def named(check: str) -> set[str]:
        return {n for n in EXPECTED if any(n + " (#" in d for d in findings[check]["details"])}

    for check, problem in (("runs.stuck", "stuck"), ("runs.orphaned", "orphaned"),
                           ("jobs.failing", "failing")):
        assert named(check) == {n for n, p in EXPECTED.items() if p == problem}, findings[check]
    assert findings["runs.orphaned"]["status"] == "problem"
    assert f"where runid = {history['orphan_run']};" in findings["runs.orphaned"]["fix"]

    # watch: its stuck decision, and the orphaned run said as such.
    db = Database(ConnectOptions(dbname=c.conninfo))
    try:
        changes = (await Watch([Target("agree", db)], State(), [],
                               out=io.StringIO()).run_pass()).changes
    finally:
        await db.close()
    by_kind: dict[str, set[str]] = {}
    for change in changes:
        e = change.episode
        if e.jobid in names and change.state == "firing":
            by_kind.setdefault(e.kind, set()).add(names[e.jobid])
    assert by_kind.get("stuck") == {"agree-stuck"}, changes
    assert by_kind.get("orphaned") == {"agree-orphan"}, changes
    assert "missed" not in by_kind, changes  # times queued behind a run going on

    # The TUI: the title's counts, `p`, the rows and the run stream.
    async with running_app(c) as (app, pilot):
        await wait_for(pilot, lambda: app.usual is not None and all(
            app.job_by_id(jobid) is not None for jobid in ids.values()), timeout=30)
        app.main.show_jobs()
        table = app.main.jobs_table
        title = str(app.main.query_one("#jobs-title").render())
        counts = Counter(p for p in EXPECTED.values() if p)
        assert "1 failing, 1 stuck, 1 orphaned, 1 paused" in title, title
        assert Counter(p for p in said.values() if p) == counts
        for name, problem in EXPECTED.items():  # the row says stuck or orphaned itself
            last = table.get_cell(str(ids[name]), "last").plain
            shown = {p for p in ("stuck", "orphaned") if p in last}
            assert shown == ({problem} & {"stuck", "orphaned"}), (name, last)
        await pilot.press("p")
        await wait_for(pilot, lambda: "sort: problems first" in str(
            app.main.query_one("#jobs-title").render()))
        top = [names[int(k)] for k in table.keys[:4]]
        assert top == ["agree-failing", "agree-stuck", "agree-orphan", "agree-paused"]
        stream = app.main.runs_table
        await wait_for(pilot, lambda: history["orphan_run"] in stream.runs)
        assert stream.runs[history["orphan_run"]].orphaned is True
        assert "orphaned" in stream.get_cell(str(history["orphan_run"]), "status").plain
        assert not stream.runs[history["stuck_run"]].orphaned

    # explain: the running run's verdict, and the times behind it queued, not missed.
    # explain judges times a minute old and older (a run may be about to start): the orphaned
    # run's, at the minute the test began, once it is.
    while c.value("select now() - %s < interval '70 seconds'", [history["minute"]]):
        await asyncio.sleep(1)
    since = (history["minute"] - timedelta(minutes=15)).isoformat()
    for name, problem in (("agree-stuck", "stuck"), ("agree-orphan", "orphaned")):
        rows = await cli_json("explain", name, "--json", "--all", "-d", c.conninfo,
                              "--since", since)
        running = [r for r in rows if r["outcome"] == "running"]
        assert [r["problem"] for r in running] == [problem], rows
        assert not [r for r in rows if r["missed"]], rows
