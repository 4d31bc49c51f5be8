"""Knowing the pg_cron release (tui/db/release.py) on the Debian versions, and the 1.6.0-1.6.4
crash that the release-aware check must never send to a server.

The builds of other releases are tested in tests/test_versions.py.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import Cluster
from tui.cron import check
from tui.db import ConnectOptions, Database
from tui.db.release import overflows_set_range
from tui.models import ServerFacts


def crashes_1_6_0_to_1_6_4(expr: str) -> bool:
    """The product's own rule (tui/db/release.py, derived from v1.6.4 src/entry.c:507-523):
    the differential leaves these unasked on 1.6.4; the test below pins it to what was
    measured on the 1.6.4 build."""
    return overflows_set_range(expr)


def facts_of(cluster: Cluster, **options: object) -> ServerFacts:
    async def read() -> ServerFacts:
        db = Database(ConnectOptions(dbname=cluster.conninfo, **options))  # type: ignore[arg-type]
        try:
            return await db.facts()
        finally:
            await db.close()

    return asyncio.run(read())


def test_release_on_the_debian_versions(cluster: Cluster) -> None:
    got = facts_of(cluster).pg_cron_release
    assert got is not None and got.probed
    # Debian 12: pg_cron 1.4.2 (extversion '1.4-1'); Debian 13: 1.6.5.
    assert got.label == LABELS[cluster.pg_cron]
    assert got.version == cluster.pg_cron


LABELS = {"1.4": "1.4-1", "1.6": "1.6 (>=1.6.5)"}
JOBS = "select jobid, schedule, command, active from cron.job order by jobid"
SEQUENCE = "select last_value, is_called from cron.jobid_seq"


def test_release_probe_leaves_nothing_behind(cluster: Cluster) -> None:
    before = cluster.sql(JOBS), cluster.sql(SEQUENCE)
    facts_of(cluster)
    # Through alter_job (a superuser may call it): not even a job id is used up.
    assert (cluster.sql(JOBS), cluster.sql(SEQUENCE)) == before


def test_release_in_read_only_mode(cluster: Cluster) -> None:
    """pg_cron parses before it writes: the server's refusal to write answers the probe."""
    before = cluster.sql(JOBS)
    got = facts_of(cluster, read_only=True).pg_cron_release
    assert got is not None and got.probed and got.label == LABELS[cluster.pg_cron]
    assert cluster.sql(JOBS) == before


@pytest.fixture
def plain_role(cluster: Cluster) -> Iterator[str]:
    """A login role as pg_cron leaves it: USAGE on schema cron only by our grant, no EXECUTE on
    alter_job (revoked from PUBLIC), so the probe falls back to a rolled-back cron.schedule."""
    role = f"probe_{uuid.uuid4().hex[:8]}"
    cluster.sql(f'create role "{role}" login')
    yield role
    cluster.sql(f'drop owned by "{role}"')
    cluster.sql(f'drop role "{role}"')


def role_facts(cluster: Cluster, role: str, **options: object) -> ServerFacts:
    async def read() -> ServerFacts:
        db = Database(ConnectOptions(dbname=cluster.sandbox.conninfo(user=role),
                                     **options))  # type: ignore[arg-type]
        try:
            return await db.facts()
        finally:
            await db.close()

    return asyncio.run(read())


def test_release_for_a_role_without_alter_job(cluster: Cluster, plain_role: str) -> None:
    cluster.sql(f'grant usage on schema cron to "{plain_role}"')
    before = cluster.sql(JOBS)
    for read_only in (False, True):
        got = role_facts(cluster, plain_role, read_only=read_only).pg_cron_release
        assert got is not None and got.probed and got.label == LABELS[cluster.pg_cron]
    assert cluster.sql(JOBS) == before


def test_release_unprobed_without_usage_on_cron(cluster: Cluster, plain_role: str) -> None:
    got = role_facts(cluster, plain_role).pg_cron_release
    assert got is not None and not got.probed and got.version == cluster.pg_cron


def test_crash_predicate_matches_what_was_measured() -> None:
    # Measured on the 1.6.4 build: the first two killed the server, the rest did not.
    assert crashes_1_6_0_to_1_6_4("0 0 * * 3-3/2147483647")
    assert crashes_1_6_0_to_1_6_4("27 *L $ 6 Wed-Wed/2147483647\n")
    assert not crashes_1_6_0_to_1_6_4("*/2147483647 * * * *")
    assert not crashes_1_6_0_to_1_6_4("0 0 1-5/2147483647 * *")  # start 0: no overflow
    assert not crashes_1_6_0_to_1_6_4("0 0-1/2147483647 * * *")


@pytest.mark.parametrize(("expr", "on_1_6_4", "on_1_5"), [
    ("0 0 * * 3-3/2147483647", False, False),  # 1.6.4: SIGSEGV (measured)
    ("0 0 1-5/2147483647 * *", True, False),  # 1.6.4: starts at index 0, no overflow
    ("0 0 * 1-2/2147483647 *", True, False),
    ("0 0-1/2147483647 * * *", True, True),
])
def test_overflowing_steps_as_each_release_takes_them(expr: str, on_1_6_4: bool,
                                                     on_1_5: bool) -> None:
    """Measured on the 1.5.2 and 1.6.4 builds (tests/test_versions.py asks them for real)."""
    assert check(expr, "1.6.4").valid is on_1_6_4
    assert check(expr, "1.5").valid is on_1_5
    assert crashes_1_6_0_to_1_6_4(expr) is (not on_1_6_4)
    if crashes_1_6_0_to_1_6_4(expr):
        assert "crashes pg_cron 1.6.0-1.6.4" in (check(expr, "1.6.4").hint or "")
