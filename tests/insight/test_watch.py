"""`watch` against a real server and a real webhook receiver on 127.0.0.1: each event is sent
once, across a restart of the watch; `/metrics` read back with prometheus-client's parser."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Cluster
from tests.insight.test_explain import insert_run
from tui.db import ConnectOptions, Database
from tui.insight.metrics import Metrics
from tui.insight.watch import Event, Options, State, Watcher, Webhook
from tui.lab.sandbox import free_port

SECRET = "Zq8vTt3pLw1x"
RECONCILE = ("payments-reconcile", "17 3 * * *",
             "SELECT payments.reconcile(p_day => current_date - 1)")
EXPORT = ("export-ledger", "23 4 * * *",
          "COPY (SELECT * FROM ledger.entries) TO PROGRAM 'gzip > /var/backups/ledger.gz'")
#: A job named after where it pushes, password and all: people do this.
MIRROR = (f"mirror to postgresql://replicator:{SECRET}@10.0.0.5/app", "41 2 * * *", "SELECT 1")
EVERY5 = ("queue-drain", "*/5 * * * *", "CALL jobs.drain_queue(batch => 500)")


class Receiver:
    """A webhook endpoint: records every body; the first POST to /flaky gets a 503."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[Any]] = {}
        self.refused = 0
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  # http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path == "/flaky" and owner.refused == 0:
                    owner.refused += 1
                    self.send_response(503)
                    self.end_headers()
                    return
                owner.bodies.setdefault(self.path, []).append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def schedule(c: Cluster, job: tuple[str, str, str]) -> int:
    return c.value("select cron.schedule(%s, %s, %s)", list(job))


def hooks(r: Receiver) -> list[Webhook]:
    return [Webhook(r.url("/flaky"), "slack", backoff_s=0.05),
            Webhook(r.url("/generic"), "generic", backoff_s=0.05)]


async def one_pass(c: Cluster, state_file: Path, r: Receiver,
                   metrics: Metrics | None = None) -> list[Any]:
    """A watch started from the state file, one pass, state saved: as a restart does."""
    import io

    state = State.load(state_file)
    db = Database(ConnectOptions(dbname=c.conninfo))
    try:
        w = Watcher(db, state, hooks(r), Options(), metrics, out=io.StringIO())
        events = await w.run_pass()
    finally:
        await db.close()
    state.save(state_file)
    return events


async def test_each_event_once_across_restarts(fresh_cluster: Cluster, receiver: Receiver,
                                               tmp_path: Path) -> None:
    c = fresh_cluster
    state_file = tmp_path / "watch.json"
    # Only this test's jobs: the seed's daily job at 00:05 is rightly reported missed by a
    # fresh server started after it, when the test runs just after midnight.
    c.sql("select cron.unschedule(jobid) from cron.job")
    ids = {j[0]: schedule(c, j) for j in (RECONCILE, EXPORT, MIRROR, EVERY5)}
    now = c.value("select now()")
    with c.connect() as conn:
        for k in range(5):  # its usual duration: about a second
            day = now - timedelta(days=k + 1)
            insert_run(conn, ids[EXPORT[0]], day, day + timedelta(seconds=1.2), "succeeded",
                       "COPY 120000")
        stuck = insert_run(conn, ids[EXPORT[0]], now - timedelta(hours=2), None, "running", "")
        failed = insert_run(conn, ids[RECONCILE[0]], now - timedelta(minutes=3),
                            now - timedelta(minutes=2), "failed",
                            f"ERROR:  could not connect: postgresql://svc:{SECRET}@10.0.0.9/pay")
        insert_run(conn, ids[MIRROR[0]], now - timedelta(minutes=4),
                   now - timedelta(minutes=4) + timedelta(seconds=2), "succeeded", "1 row")

    first = await one_pass(c, state_file, receiver)
    kinds = sorted(e.kind for e in first)
    assert f"failed:{failed}" in {e.key for e in first}
    assert f"stuck:{stuck}" in {e.key for e in first}
    # The fresh server started after the five-minute job's earlier times: missed (each with
    # explain's reason), and only that job's.
    missed = [e for e in first if e.kind == "missed"]
    assert missed and all(e.job == EVERY5[0] and e.message.startswith("did not start at ")
                          for e in missed), missed
    assert receiver.refused == 1  # the 503 was retried
    assert len(receiver.bodies["/flaky"]) == len(first) == len(receiver.bodies["/generic"])
    assert {b["key"] for b in receiver.bodies["/generic"]} == {e.key for e in first}
    assert all(set(b) == {"text"} for b in receiver.bodies["/flaky"])
    assert SECRET not in json.dumps(receiver.bodies)

    # A restart with nothing new: nothing sent again.
    assert await one_pass(c, state_file, receiver) == []
    assert len(receiver.bodies["/generic"]) == len(first)

    # While the watch is down: another failure, and the scheduler stops.
    with c.connect() as conn:
        again = insert_run(conn, ids[RECONCILE[0]], now - timedelta(seconds=30),
                           now - timedelta(seconds=20), "failed", "ERROR:  deadlock detected")
        keep_launcher_down(conn)
    after = await one_pass(c, state_file, receiver)
    assert {e.kind for e in after} >= {"failed", "scheduler_down"}
    assert f"failed:{again}" in {e.key for e in after}
    assert not {e.key for e in after} & {e.key for e in first}
    assert await one_pass(c, state_file, receiver) == []
    total = len(first) + len(after)
    assert len(receiver.bodies["/generic"]) == total
    assert len({b["key"] for b in receiver.bodies["/generic"]}) == total
    assert kinds  # the first pass found something

    # --once says something is wrong while the scheduler is down.
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "tui", "watch", "--once", "-d", c.conninfo,
                           "--state", str(state_file)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""  # nothing new: already sent, but the problem is still open


def keep_launcher_down(conn: Any) -> None:
    """Stop the pg_cron launcher and keep it down, as a scheduler that crashes on start does.

    Killed, the launcher is started again a second later (bgw_restart_time = 1, pg_cron.c), and
    its first act is to mark unfinished runs failed (MarkPendingRunsAsFailed, job_metadata.c).
    A trigger that refuses that update to the launcher ends every restart within milliseconds
    (a bare kill left the launcher back within a second, before a slow pass looked)."""
    conn.execute("create function public.refuse_launcher() returns trigger language plpgsql "
                 "as $$ begin if (select backend_type from pg_stat_activity "
                 "where pid = pg_backend_pid()) = 'pg_cron launcher' then "
                 "raise exception 'the test keeps the scheduler down'; end if; "
                 "return null; end $$")
    conn.execute("create trigger refuse_launcher before update on cron.job_run_details "
                 "for each statement execute function public.refuse_launcher()")
    conn.execute("select pg_terminate_backend(pid) from pg_stat_activity "
                 "where backend_type = 'pg_cron launcher'")
    for _ in range(100):
        if not conn.execute("select count(*) from pg_stat_activity "
                            "where backend_type = 'pg_cron launcher'").fetchone()[0]:
            return
        time.sleep(0.1)
    raise AssertionError("the pg_cron launcher did not stop")


class _Dead:
    """Where nothing listens: a port taken and released."""

    conninfo = (f"host=127.0.0.1 port={free_port()} dbname=postgres user=postgres "
                "connect_timeout=2")


async def test_unreachable_once(tmp_path: Path, receiver: Receiver) -> None:
    state_file = tmp_path / "watch.json"
    events = await one_pass(_Dead, state_file, receiver)  # type: ignore[arg-type]
    assert [e.kind for e in events] == ["unreachable"]
    assert "did not answer" in events[0].message
    assert await one_pass(_Dead, state_file, receiver) == []  # type: ignore[arg-type]
    assert len(receiver.bodies["/generic"]) == 1


@pytest.mark.smoke  # watch --metrics
async def test_metrics_parsed_by_prometheus_client(fresh_cluster: Cluster) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    cluster = fresh_cluster
    ids = {j[0]: schedule(cluster, j) for j in (RECONCILE, MIRROR)}
    now = cluster.value("select now()")
    with cluster.connect() as conn:
        # Started 12 s after the time its schedule gave.
        slot = now.replace(hour=2, minute=41, second=0, microsecond=0) - timedelta(days=1)
        insert_run(conn, ids[MIRROR[0]], slot + timedelta(seconds=12),
                   slot + timedelta(seconds=14), "succeeded", "1 row")
        insert_run(conn, ids[RECONCILE[0]], now - timedelta(minutes=1),
                   now - timedelta(seconds=50), "failed", "ERROR:  division by zero")
    state = State()
    # A first pass looks back a quarter of an hour for runs: take these in from their runid.
    state.last_runid = cluster.value("select min(runid) from cron.job_run_details "
                                     "where jobid = any(%s)", [list(ids.values())]) - 1
    metrics = Metrics()
    port = free_port()
    server, _thread = metrics.serve("127.0.0.1", port)
    db = Database(ConnectOptions(dbname=cluster.conninfo))
    try:
        import io

        await Watcher(db, state, [], Options(), metrics, out=io.StringIO()).run_pass()
    finally:
        await db.close()
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    assert samples[("pgcron_scheduler_up", (("database", "postgres"),))] == 1
    rec = (("database", "postgres"), ("jobname", RECONCILE[0]))
    assert samples[("pgcron_job_runs_total", (*rec, ("status", "failed")))] == 1
    assert samples[("pgcron_job_last_run_status", rec)] == 0
    mirror = [labels for (name, labels) in samples if name == "pgcron_job_start_lag_seconds"]
    assert len(mirror) == 1
    assert SECRET not in text
    assert samples[("pgcron_job_start_lag_seconds", mirror[0])] == pytest.approx(12)
    assert any(name == "pgcron_job_last_success_timestamp_seconds" for name, _ in samples)
    assert any(name == "pgcron_job_run_duration_seconds_count" for name, _ in samples)


@pytest.fixture
def with_pg_net(cluster: Cluster) -> Iterator[Cluster]:
    from tests.conftest import start_cluster

    if not cluster.sandbox.install.has_extension("pg_net"):
        pytest.skip("pg_net is not built here (.ci/setup builds it from ../shared/vendor)")
    c = start_cluster(cluster.sandbox.install, shared_preload_libraries="'pg_cron,pg_net'")
    c.sql("create extension if not exists pg_net")
    yield c
    c.sandbox.destroy()


def _response(c: Cluster, status: int | None, content: str, *, age: timedelta,
              timed_out: bool = False, error: str | None = None) -> int:
    rid = c.value("select coalesce(max(id), 0) + 1 from net._http_response")
    c.sql("insert into net._http_response (id, status_code, content_type, headers, content, "
          "timed_out, error_msg, created) values (%s, %s, 'application/json', "
          "'{\"server\": \"deno\"}', %s, %s, %s, now() - %s)",
          [rid, status, content, timed_out, error, age])
    return rid


async def test_http_errors_once(with_pg_net: Cluster, receiver: Receiver,
                                tmp_path: Path) -> None:
    c = with_pg_net
    state_file = tmp_path / "watch.json"
    _response(c, 500, '{"error": "stale"}', age=timedelta(hours=1))  # before a first look
    _response(c, 200, '{"ok": true}', age=timedelta(minutes=1))
    bad = _response(c, 401, json.dumps({"msg": "Invalid JWT", "token": f"eyJhbGciOiJIUzI1NiJ9."
                                                                         f"eyJzdWIiOiJ4In0.{SECRET}"}),
                    age=timedelta(minutes=2))
    slow = _response(c, None, "", age=timedelta(minutes=1), timed_out=True,
                     error="Timeout of 5000 ms reached")
    first = [e for e in await one_pass(c, state_file, receiver) if e.kind == "http_error"]
    assert sorted(e.key for e in first) == [f"http_error:{bad}", f"http_error:{slow}"]
    assert SECRET not in json.dumps(receiver.bodies)
    assert [e for e in await one_pass(c, state_file, receiver) if e.kind == "http_error"] == []
    later = _response(c, 503, "upstream connect error", age=timedelta(0))
    again = [e.key for e in await one_pass(c, state_file, receiver) if e.kind == "http_error"]
    assert again == [f"http_error:{later}"]


def test_unreadable_state_is_refused(tmp_path: Path) -> None:
    import subprocess
    import sys

    state = tmp_path / "state.json"
    state.write_text('{"last_runid": 41, "sent": {"failed:4')  # cut short by a full disk
    done = subprocess.run([sys.executable, "-m", "tui", "watch", "--once", "--state", str(state),
                           "-d", _Dead.conninfo], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "cannot be read" in done.stderr and done.stdout == ""


def test_slack_reads_no_mention_or_link_from_job_text() -> None:
    """Job names like these are ordinary text to pg_cron; in Slack they would page a channel
    or draw a link that says something else. The generic format keeps the text exact."""
    event = Event(key="k", kind="failed", at="2026-11-29T03:00:00+00:00",
                  message="ERROR: <https://evil.example|click> & more",
                  job="nightly <!channel> <@U024BE7LH> report")
    text = Webhook("http://127.0.0.1:9/hook").body(event)["text"]
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&amp; more" in text
    generic = Webhook("http://127.0.0.1:9/hook", fmt="generic").body(event)
    assert generic["job"] == "nightly <!channel> <@U024BE7LH> report"
