"""The real outcome of HTTP jobs: pg_net's answer next to pg_cron's "succeeded", through real
pg_net and a real local HTTP server answering 200, 500 and too late.

pg_cron keeps no request id ("1 row"), so answers are matched to runs by time: the tests space
the runs so each window holds one answer, and also fire two runs together, where the product
must say it cannot tell which answer is whose.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import INSTALLATIONS

# Importing it skips this module too, in one line, where pg_net is not built.
from tests.test_pg_net import NetCluster, start_net_cluster
from tests.ui.conftest import running_app, wait_for
from tui.db import ConnectOptions, Database
from tui.db.actions import get_job, trigger
from tui.http_jobs import outcome
from tui.lab import seed
from tui.lab.sandbox import Installation

#: The slow endpoint answers after this long; its job gives pg_net 1 s.
SLOW_S = 4


class Webhooks:
    """A billing service's webhook receiver: /ok accepts, /invoices fails with a 500,
    /reports answers too late."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                return

            def do_POST(self) -> None:  # noqa: N802  # the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                if self.path.startswith("/reports"):
                    time.sleep(SLOW_S)
                status, body = ((500, {"error": "upstream ledger unavailable"})
                                if self.path.startswith("/invoices") else (200, {"ok": True}))
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # pg_net gave up (the timeout case)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def http_job(nc: NetCluster, name: str, url: str, timeout_ms: int) -> int:
    # A schedule that does not fire during the test: runs come from "run now" only.
    command = (f"select net.http_post(url := '{url}', "
               "headers := jsonb_build_object('Content-Type', 'application/json', "
               "'Authorization', 'Bearer sk_live_51HxqT2eZvKYlo2C9xWqPbN3d'), "
               "body := jsonb_build_object('sent_at', now()), "
               f"timeout_milliseconds := {timeout_ms})")
    return nc.cluster.value("select cron.schedule(%s, '0 3 * * 0', %s)", [name, command])


def answers(nc: NetCluster) -> int:
    return nc.cluster.value("select count(*) from net._http_response")


def wait_answers(nc: NetCluster, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while answers(nc) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    assert answers(nc) >= count, "pg_net stored no answer"


def wait_window_closed(nc: NetCluster, runid: int, timeout_ms: int) -> None:
    """Until the run's matching window is over on the server's clock, so the next run's answer
    cannot fall in it."""
    wait = outcome.SLACK.total_seconds() + timeout_ms / 1000
    deadline = time.monotonic() + wait + 30
    while time.monotonic() < deadline and not nc.cluster.value(
            "select now() > end_time + make_interval(secs => %s) from cron.job_run_details "
            "where runid = %s", [wait, runid]):
        time.sleep(0.3)


@pytest.fixture(params=INSTALLATIONS, ids=lambda i: i.label)
def webhook_cluster(request: pytest.FixtureRequest) -> Iterator[tuple[NetCluster, Webhooks]]:
    install: Installation = request.param
    nc = start_net_cluster(install)
    hooks = Webhooks()
    yield nc, hooks
    hooks.stop()
    nc.endpoint.stop()
    nc.cluster.sandbox.destroy()


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True, text=True,
                          timeout=120, env=dict(os.environ))


async def test_runs_show_the_endpoints_answer(webhook_cluster: tuple[NetCluster, Webhooks]
                                              ) -> None:
    nc, hooks = webhook_cluster
    ok = http_job(nc, "stripe-webhook-replay", hooks.url("/ok/stripe"), 1000)
    failing = http_job(nc, "sync-open-invoices", hooks.url("/invoices/sync"), 1000)
    slow = http_job(nc, "nightly-usage-report", hooks.url("/reports/usage"), 1000)
    db = Database(ConnectOptions(dbname=nc.cluster.conninfo))
    runids = {}
    try:
        for count, jobid in enumerate((ok, failing, slow), start=1):
            run = await trigger(db, await get_job(db, jobid))
            # pg_cron's own verdict for all three: the request was queued.
            assert run.status == "succeeded", run.message
            wait_answers(nc, count)
            runids[jobid] = nc.cluster.value(
                "select max(runid) from cron.job_run_details where jobid = %s", [jobid])
            wait_window_closed(nc, runids[jobid], 1000)
    finally:
        await db.close()

    done = cli("runs", "--json", "-d", nc.cluster.conninfo)
    assert done.returncode == 0, done.stderr
    got = {r["runid"]: r for r in json.loads(done.stdout)}
    assert (got[runids[ok]]["status"], got[runids[ok]]["http_status"],
            got[runids[ok]]["http_error"]) == ("succeeded", 200, None)
    assert (got[runids[failing]]["status"], got[runids[failing]]["http_status"],
            got[runids[failing]]["http_error"]) == ("succeeded", 500, None)
    late = got[runids[slow]]
    assert (late["status"], late["http_status"], late["http_note"]) == ("succeeded", None, "")
    assert late["http_error"] and "time" in late["http_error"].lower(), late

    # The table says it in the status column.
    table = cli("runs", "-d", nc.cluster.conninfo)
    assert table.returncode == 0, table.stderr
    line = next(x for x in table.stdout.splitlines() if "sync-open-invoices" in x)
    assert "succeeded → HTTP 500" in line

    # The TUI: the run stream's status column, and the jobs table flags the failing job.
    async with running_app(nc.cluster) as (app, pilot):
        runs, jobs = app.main.runs_table, app.main.jobs_table
        await wait_for(pilot, lambda: str(runids[failing]) in runs.rows
                       and "→" in runs.get_cell(str(runids[failing]), "status").plain)
        assert runs.get_cell(str(runids[failing]), "status").plain == "succeeded → HTTP 500"
        assert runs.get_cell(str(runids[ok]), "status").plain == "succeeded → HTTP 200"
        assert runs.get_cell(str(runids[slow]), "status").plain == "succeeded → timed out"
        await wait_for(pilot, lambda: str(failing) in jobs.rows
                       and "→" in jobs.get_cell(str(failing), "last").plain)
        assert jobs.get_cell(str(failing), "last").plain.startswith("succeeded → HTTP 500")
        assert jobs.get_cell(str(slow), "last").plain.startswith("succeeded → timed out")
        assert "→" not in jobs.get_cell(str(ok), "last").plain

    # Two runs at once: two answers in each window, and neither is claimed.
    first = await trigger_pair(nc, ok)
    done = cli("runs", "--json", "-d", nc.cluster.conninfo, "--job", "stripe-webhook-replay")
    pair = [r for r in json.loads(done.stdout) if r["runid"] in first]
    assert len(pair) == 2
    for r in pair:
        assert r["http_status"] is None and r["http_error"] is None
        assert "cannot tell" in r["http_note"], r


async def trigger_pair(nc: NetCluster, jobid: int) -> set[int]:
    """Two runs of the job back to back with the product's run now (pg_cron 1.4 cannot fire a
    job twice within seconds)."""
    before = answers(nc)
    db = Database(ConnectOptions(dbname=nc.cluster.conninfo))
    try:
        job = await get_job(db, jobid)
        for _ in range(2):
            run = await trigger(db, job)
            assert run.status == "succeeded", run.message
    finally:
        await db.close()
    wait_answers(nc, before + 2)
    rows = nc.cluster.sql("select runid from cron.job_run_details where jobid = %s "
                          "order by runid desc limit 2", [jobid])
    return {r[0] for r in rows}


def test_doctor_warns_when_ttl_is_shorter_than_the_interval(
        webhook_cluster: tuple[NetCluster, Webhooks]) -> None:
    nc, _hooks = webhook_cluster
    # The seed's weekly HTTP job against pg_net's default ttl of 6 hours.
    done = cli("doctor", "--json", "-d", nc.cluster.conninfo)
    found = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
    ttl = found["http.ttl"]
    assert ttl["status"] == "warning", ttl
    assert any(d.startswith(f"{seed.WEEKLY} (#") for d in ttl["details"]), ttl
    assert "6 hours" in ttl["summary"]
    assert "alter system set pg_net.ttl = '8 days'" in ttl["fix"]
    # Every minute: each answer outlives the next run.
    nc.cluster.sql("select cron.alter_job(jobid, schedule := '* * * * *') from cron.job "
                   "where jobname = %s", [seed.WEEKLY])
    done = cli("doctor", "--json", "-d", nc.cluster.conninfo)
    found = {f["check"]: f for f in json.loads(done.stdout)["findings"]}
    still = [d for d in found["http.ttl"]["details"] if d.startswith(seed.WEEKLY)]
    assert not still, found["http.ttl"]
