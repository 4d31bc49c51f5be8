"""What the headless subcommands cost in round trips: counted by a proxy between them and a
real cluster (benchmarks/proxy.py, no delay), never timed.

A bastion host 30 ms from its database waits 30 ms for each exchange (issue 30): each
subcommand reads what it needs together (Database.fetch_many), and the pg_cron release probe is
one exchange. The bounds are the figures reached, above what opening a connection costs here
(the handshake and authentication, measured rather than assumed).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from benchmarks.proxy import Proxy
from tests.conftest import Cluster
from tui.cli import main
from tui.db import ConnectOptions, Database


@pytest.fixture(scope="module")
def proxy(cluster: Cluster) -> Iterator[Proxy]:
    with Proxy("127.0.0.1", cluster.sandbox.port) as p:
        yield p


def connecting(proxy: Proxy, cluster: Cluster) -> int:
    """The exchanges of opening a connection, closing it, and nothing else."""
    with proxy.measure() as counts:
        psycopg.connect(proxy.conninfo(cluster.conninfo)).close()
    return counts.round_trips


def test_facts_with_the_release_probe_cost_two_exchanges(proxy: Proxy, cluster: Cluster
                                                          ) -> None:
    async def facts() -> None:
        db = Database(ConnectOptions(dbname=proxy.conninfo(cluster.conninfo)))
        try:
            facts = await db.facts()
            assert facts.pg_cron_release is not None and facts.pg_cron_release.probed
        finally:
            await db.close()

    base = connecting(proxy, cluster)
    with proxy.measure() as counts:
        asyncio.run(facts())
    assert counts.connections == 1
    assert counts.round_trips <= base + 2  # the facts, then the probe: one exchange each


# Beyond the connection: the facts and the release probe (2), then each subcommand's reads;
# "+ 1": a read only some servers' state calls for (figures reached: no such state here).
READS = {
    ("jobs", "--json"): 2 + 1 + 1,  # the jobs and the usual durations; + unfinished judged
    ("jobs",): 2 + 1 + 1,
    ("runs", "--json"): 2 + 1 + 1,  # the runs and the jobs; + pg_net's answers to HTTP runs
    ("runs", "--format", "csv"): 2 + 1,  # the runs
    ("runs", "--job", "{job}"): 2 + 2 + 1,  # the jobs, then the job's runs; + pg_net's
    ("timeline", "--json"): 2 + 1,  # the jobs, the scheduler, the usual durations
    # the jobs; the scheduler and the newest runs; + runs going judged, + their usual
    ("explain", "{job}", "--json"): 2 + 2 + 2,
    # the server, the jobs and the history's size; the runs, the usual durations, the last
    # runs without the index and pg_net's ttl; the scheduler and the newest runs
    ("doctor", "--json"): 2 + 3,
    ("plan", "{file}"): 2 + 1,  # the jobs (the file's job is the server's, unchanged)
}


def jobs_file(cluster: Cluster, folder: Path) -> Path:
    """A jobs file declaring the server's first job as it is."""
    ((name, schedule, command, database, user, active),) = cluster.sql(
        "select jobname, schedule, command, database, username, active from cron.job "
        "where jobname is not null order by jobid limit 1")
    path = folder / "jobs.toml"
    path.write_text(f"[[job]]\nname = {json.dumps(name)}\nschedule = {json.dumps(schedule)}\n"
                    f"command = {json.dumps(command)}\ndatabase = {json.dumps(database)}\n"
                    f"user = {json.dumps(user)}\nactive = {str(active).lower()}\n",
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("argv", list(READS), ids=" ".join)
def test_a_subcommand_costs_a_few_exchanges(proxy: Proxy, cluster: Cluster, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str],
                                            argv: tuple[str, ...]) -> None:
    jobid = cluster.value("select min(jobid) from cron.job")
    job, file = f"#{jobid}", jobs_file(cluster, tmp_path) if "plan" in argv else None
    base = connecting(proxy, cluster)
    with proxy.measure() as counts:
        code = main([*(a.format(job=job, file=file) for a in argv), "-d",
                     proxy.conninfo(cluster.conninfo)])
    out = capsys.readouterr()
    assert code in (0, 1), out.err  # doctor: 1 on a warning
    assert out.out
    assert counts.connections == 1
    assert counts.round_trips <= base + READS[argv], counts


#: On the run's own connection, beyond its handshake (the figure reached).
RUN_OWN = 2


@pytest.fixture
def harmless_job(cluster: Cluster) -> Iterator[tuple[int, str]]:
    """A job of this test's own that never fires by itself (31 February)."""
    name = f"round-trips-{uuid.uuid4().hex[:8]}"
    jobid = int(cluster.value("select cron.schedule(%s, '0 0 31 2 *', 'select 1')", [name]))
    yield jobid, name
    cluster.sql("select cron.unschedule(%s::bigint)", [jobid])


def test_t_asks_in_one_exchange(proxy: Proxy, cluster: Cluster,
                                harmless_job: tuple[int, str]) -> None:
    """What `t` reads before its dialog (writable? the job now, its runs in progress, where
    it runs): one exchange on the app's session."""
    from tui.db.actions import plan_run

    async def plan() -> int:
        db = Database(ConnectOptions(dbname=proxy.conninfo(cluster.conninfo)))
        try:
            await db.facts()  # connected, the release known: as the app is when `t` comes
            with proxy.measure() as counts:
                run_plan = await plan_run(db, harmless_job[0])
            assert run_plan.job.jobid == harmless_job[0] and not run_plan.running
            return counts.round_trips
        finally:
            await db.close()

    assert asyncio.run(plan()) == 1


def test_run_costs_a_few_exchanges(proxy: Proxy, cluster: Cluster,
                                   capsys: pytest.CaptureFixture[str],
                                   harmless_job: tuple[int, str]) -> None:
    """`run JOB --yes` (the headless `t`): on its session the facts and the release probe,
    the jobs, the plan, the checks before it starts, the run's start and end recorded (7); the
    run's own connection (as pg_cron opens one) on top."""
    jobid, name = harmless_job
    base = connecting(proxy, cluster)
    with proxy.measure() as counts:
        code = main(["run", name, "--yes", "-d", proxy.conninfo(cluster.conninfo)])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert cluster.value("select count(*) from cron.job_run_details where jobid = %s",
                         [jobid]) == 1
    assert counts.connections == 2
    assert counts.round_trips <= 2 * base + 7 + RUN_OWN, counts


def test_reads_together_answer_alone_when_one_is_refused(cluster: Cluster) -> None:
    """Batched reads keep what each read alone did: a refused one (no USAGE on schema cron)
    is its refusal, the others still answer."""
    from tui.db import DatabaseError
    from tui.db.insight import jobs_read, read_together

    role = f"round_trips_{uuid.uuid4().hex[:8]}"
    cluster.sql(f'create role "{role}" login')
    try:
        async def read() -> list[object]:
            db = Database(ConnectOptions(dbname=cluster.sandbox.conninfo(user=role)))
            try:
                return list(await read_together(db, [("action_session_user", None),
                                                     jobs_read(indexed=False)]))
            finally:
                await db.close()

        who, jobs = asyncio.run(read())
    finally:
        cluster.sql(f'drop role "{role}"')
    assert who == [{"session_user": role}]
    assert isinstance(jobs, DatabaseError) and jobs.sqlstate == "42501", jobs
