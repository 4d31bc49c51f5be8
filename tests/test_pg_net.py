"""The seed's HTTP job through real pg_net, end to end: the job's own `net.http_post` leaves the
database, reaches the demo's adapter-health endpoint with the bearer key, and pg_net's answer
lands in `net._http_response`, where the product reads it.

Debian packages no pg_net: `.ci/build-vendor` builds it from ../shared/vendor into the host's
PostgreSQL and the chroot's. Where it was not built these tests are skipped, saying so.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest

from tests.conftest import INSTALLATIONS, Cluster
from tui import http_jobs as http
from tui.cron import parse_version
from tui.db import ConnectOptions, Database
from tui.db.actions import get_job, trigger
from tui.lab import demo, seed
from tui.lab.demo_http import PATH, AdapterHealth
from tui.lab.sandbox import Installation, host_installation, throwaway

PRELOAD = "'pg_cron,pg_net'"
NOT_BUILT = ("pg_net is not built here: .ci/build-vendor builds it where ../shared/vendor "
             "exists (Debian has no package)")
if not any(i.has_extension("pg_net") for i in INSTALLATIONS):
    pytest.skip(NOT_BUILT, allow_module_level=True)
BODY = {"source": "pg_cron", "check": "adapters"}  # what the seed's job posts


@dataclass
class NetCluster:
    cluster: Cluster
    endpoint: AdapterHealth

    def responses(self) -> list[tuple]:
        return self.cluster.sql("select id, status_code, content, timed_out, error_msg "
                                "from net._http_response order by id")

    def wait_for_response(self, timeout: float = 30) -> list[tuple]:
        """pg_net's worker sends and stores asynchronously, within a second or two here."""
        deadline = time.monotonic() + timeout
        while not (rows := self.responses()) and time.monotonic() < deadline:
            time.sleep(0.2)
        return rows


def skip_without_pg_net(install: Installation) -> None:
    if not install.has_extension("pg_net"):
        pytest.skip(f"{NOT_BUILT}: not for {install.label}")


def start_net_cluster(install: Installation) -> NetCluster:
    """A cluster preloading pg_net, with the seed's jobs as the demo wires them: installed
    with the demo's default functions URL, then pointed at a running adapter-health."""
    skip_without_pg_net(install)
    # On the host, the demo's own settings (demo.sandbox() preloads pg_net where it was built).
    settings = (dict(demo.sandbox().settings) if install == host_installation()
                else {"shared_preload_libraries": PRELOAD})
    endpoint = AdapterHealth().start()
    sb = throwaway(install, settings=settings)
    try:
        sb.start()
        sb.wait_ready()
        with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
            conn.execute("create extension pg_net")
            seed.install(conn, functions_url=demo.FUNCTIONS_URL)
            endpoint.service_key = demo.point_weekly_at(conn, endpoint.functions_url)
            extversion = conn.execute(
                "select extversion from pg_extension where extname = 'pg_cron'").fetchone()[0]
    except BaseException:
        endpoint.stop()
        sb.destroy()
        raise
    return NetCluster(Cluster(sandbox=sb, service_key=endpoint.service_key,
                              pg_cron=parse_version(extversion)), endpoint)


@pytest.fixture(params=INSTALLATIONS, ids=lambda i: i.label)
def net_cluster(request: pytest.FixtureRequest) -> Iterator[NetCluster]:
    """A cluster of its own per test: each counts pg_net's answers from zero."""
    nc = start_net_cluster(request.param)
    yield nc
    nc.endpoint.stop()
    nc.cluster.sandbox.destroy()


def test_demo_preloads_pg_net_where_built() -> None:
    host = host_installation()
    skip_without_pg_net(host)
    assert demo.sandbox().settings["shared_preload_libraries"] == PRELOAD


def weekly_jobid(cluster: Cluster) -> int:
    return cluster.value("select jobid from cron.job where jobname = %s", [seed.WEEKLY])


def assert_reached_with_the_key(nc: NetCluster) -> None:
    got = nc.endpoint.received
    assert got, "the endpoint received nothing"
    for request in got:
        assert (request.method, request.path, request.status) == ("POST", PATH, 200)
        assert request.bearer == nc.cluster.service_key
        assert json.loads(request.body) == BODY


def assert_answer_stored(rows: list[tuple]) -> None:
    assert rows, "no answer in net._http_response"
    for _id, status, content, timed_out, error in rows:
        assert (status, timed_out, error) == (200, False, None)
        answer = json.loads(content)
        assert answer["status"] == "ok" and {a["name"] for a in answer["adapters"]} >= {"s3"}


async def test_triggered_seed_job_posts_through_pg_net(net_cluster: NetCluster) -> None:
    """`t` on the demo's weekly job: the product runs the job's own command, pg_net sends it."""
    nc = net_cluster
    db = Database(ConnectOptions(dbname=nc.cluster.conninfo))
    try:
        job = await get_job(db, weekly_jobid(nc.cluster))
        assert "net.http_post" in job.command and nc.endpoint.functions_url in job.command
        run = await trigger(db, job)
        assert run.status == "succeeded", run.message
        rows = nc.wait_for_response()
        assert len(rows) == 1
        assert_answer_stored(rows)
        assert_reached_with_the_key(nc)
        assert len(nc.endpoint.received) == 1
        # What the detail view shows: pg_net's own answer, read back by the product.
        state = await http.job_pg_net_state(db, job, current_database="postgres")
        assert state.installed and state.version == "0.20.4"
        assert [(r.id, r.status_code, r.timed_out) for r in state.responses] == [
            (rows[0][0], 200, False)]
        assert nc.cluster.service_key not in repr(state)
    finally:
        await db.close()


def test_scheduler_runs_seed_job_through_pg_net(net_cluster: NetCluster) -> None:
    """pg_cron's own launcher runs the job (every 2 seconds from 1.5; a minute job would cost a
    minute per version, so 1.4 is left to the triggered run above)."""
    nc = net_cluster
    if nc.cluster.pg_cron == "1.4":
        pytest.skip("pg_cron 1.4 has no 'N seconds' schedules; the triggered run covers 1.4")
    jobid = weekly_jobid(nc.cluster)
    nc.cluster.sql("select cron.alter_job(%s, schedule := '2 seconds')", [jobid])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            done = nc.cluster.sql("select status, return_message from cron.job_run_details "
                                  "where jobid = %s and status in ('succeeded', 'failed')",
                                  [jobid])
            if done and nc.responses():
                break
            time.sleep(0.3)
    finally:
        nc.cluster.sql("select cron.alter_job(%s, active := false)", [jobid])
    # pg_cron's "succeeded" says only that the request was queued (the SELECT returned its id).
    assert done and all(d == ("succeeded", "1 row") for d in done), done
    assert_answer_stored(nc.wait_for_response())
    assert_reached_with_the_key(nc)
