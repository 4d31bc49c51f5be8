"""A role that is not superuser, as pg_cron's row-level security and grants treat it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Cluster
from tui.db import ConnectOptions, Database, DatabaseError, actions
from tui.db.client import require_pg_cron

NEVER = "0 0 31 2 *"


@pytest.fixture
def role(cluster: Cluster) -> Iterator[str]:
    name = f"ops_{uuid.uuid4().hex[:8]}"
    cluster.sql(f'create role "{name}" login')
    cluster.sql(f'grant usage on schema cron to "{name}"')
    yield name
    cluster.sql("select cron.unschedule(jobid) from cron.job where username = %s", [name])
    cluster.sql(f'drop owned by "{name}"')
    cluster.sql(f'drop role "{name}"')


def as_role(cluster: Cluster, name: str) -> Database:
    return Database(ConnectOptions(dbname=cluster.sandbox.conninfo(user=name)))


async def test_a_role_sees_only_its_own_jobs_and_runs(cluster: Cluster, role: str) -> None:
    db = as_role(cluster, role)
    mine = cluster.value("select jobid from cron.job where username = %s", [role])
    assert mine is None
    with cluster.connect() as conn:
        conn.execute(f'set role "{role}"')
        mine = conn.execute("select cron.schedule('mine', %s, 'select 1')", [NEVER]).fetchone()[0]
    facts = await db.facts()
    require_pg_cron(facts)
    assert not facts.is_superuser and not facts.sees_all
    # The scheduler's zone is not readable by this role: unknown, never guessed (1.4: UTC).
    assert facts.scheduler_timezone == ("UTC" if cluster.pg_cron == "1.4" else None)
    assert facts.scheduler_alive is None  # other backends are hidden from it
    jobs = await db.jobs(indexed=False)
    assert [j.jobid for j in jobs] == [mine]
    assert cluster.value("select count(*) from cron.job") > 1
    runs = await db.runs_recent(limit=50)
    assert all(r.jobid == mine for r in runs)
    await db.close()


async def test_each_refusal_says_what_is_missing(cluster: Cluster, role: str) -> None:
    with cluster.connect() as conn:
        conn.execute(f'set role "{role}"')
        mine = conn.execute("select cron.schedule('mine', %s, 'select 1')", [NEVER]).fetchone()[0]
    db = as_role(cluster, role)
    with pytest.raises(DatabaseError, match=r"may not call cron.alter_job .*grant execute"):
        await actions.set_active(db, mine, False)
    assert cluster.value("select active from cron.job where jobid = %s", [mine]) is True
    with pytest.raises(DatabaseError, match=r"may not call cron.schedule_in_database"):
        await actions.create_job(db, name="elsewhere", schedule=NEVER, command="select 1",
                                 active=False)
    # A job of another role is invisible, so it is "no longer exists" rather than a leak.
    other = cluster.value("select jobid from cron.job where jobname = 'daily-usage-rollup'")
    with pytest.raises(DatabaseError, match="no longer exists"):
        await actions.get_job(db, other)
    # Run now: it runs, but this role may not write the run history: not recorded.
    run = await actions.trigger(db, await actions.get_job(db, mine))
    assert run.status == "succeeded" and run.recorded is False
    # Granted, the same action works.
    cluster.sql(f'grant execute on function cron.alter_job to "{role}"')
    assert (await actions.set_active(db, mine, False)).active is False
    await db.close()


async def test_without_usage_on_cron_the_fix_is_named(cluster: Cluster) -> None:
    name = f"nobody_{uuid.uuid4().hex[:8]}"
    cluster.sql(f'create role "{name}" login')
    try:
        db = as_role(cluster, name)
        facts = await db.facts()
        with pytest.raises(DatabaseError, match=f"grant usage on schema cron to {name}"):
            require_pg_cron(facts)
        await db.close()
    finally:
        cluster.sql(f'drop role "{name}"')
