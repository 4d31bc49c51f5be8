"""Every pg_cron release our users run, beyond the two Debian ships.

`.ci/build-vendor` builds pg_cron 1.5.2, 1.6.4 (Supabase's), 1.6.7 and master from
../shared/vendor, each into its own copy of the host's PostgreSQL (`vendor_installations()`).
The full suite runs on the Debian versions only (CI time); on these builds run what differs by
release: the release the app names, our schedule verdicts against the server's (the
differential, Hypothesis), `N seconds` and `cron.timezone`, `cron.match_dom_and_dow` on master,
the seed's two jobs run by the real scheduler (the HTTP one through real pg_net), and that a
schedule which crashes 1.6.0-1.6.4 is never sent.
Where ../shared/vendor is absent they are skipped, saying why.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, assume, example, given, settings

from tests.cron.strategies import expressions
from tests.cron.test_differential import KNOWN, NAME, ServerJudge, _compare
from tests.test_pg_net import (
    NetCluster,
    assert_answer_stored,
    assert_reached_with_the_key,
    start_net_cluster,
)
from tests.test_release import crashes_1_6_0_to_1_6_4, facts_of
from tests.ui.conftest import running_app, wait_for
from tui.db import ConnectOptions, Database, DatabaseError
from tui.db.actions import check_schedule, create_job
from tui.lab import seed
from tui.lab.sandbox import Installation, vendor_installations

ROOT = Path(__file__).resolve().parents[1]
VENDOR = vendor_installations()
if not VENDOR:
    pytest.skip("no pg_cron builds from ../shared/vendor (absent here, or .ci/build-vendor not "
                "run as root): pg_cron 1.5.2, 1.6.4, 1.6.7 and master are not tested",
                allow_module_level=True)
# Fewer examples than on the Debian versions: four more servers, same strategies.
EXAMPLES = int(os.environ.get("CRONJOBS_TUI_VENDOR_EXAMPLES", "1000"))

# What the header says on each build, derived from the probes' rules (tui/db/release.py):
# 1.5.2 has `N seconds` but no `$`; 1.6.4 accepts `*/60` (the step check came with 1.6.5,
# commit 5c10a8a); 1.6.7 rejects it; master adds `cron.match_dom_and_dow` (commit 36f1b33).
EXPECTED_LABEL = {
    "1.5.2": "1.5",
    "1.6.4": "1.6 (<1.6.5)",
    "1.6.7": "1.6 (>=1.6.5)",
    "master": "1.6 (>1.6.7)",
}


def safe_to_ask(version: str, expr: str) -> bool:
    return version != "1.6.4" or not crashes_1_6_0_to_1_6_4(expr)


@pytest.fixture(scope="module", params=VENDOR, ids=lambda i: i.label)
def release(request: pytest.FixtureRequest) -> Iterator[NetCluster]:
    """A cluster per vendor build, with pg_net preloaded and the seed's jobs wired to a local
    adapter-health endpoint, as in the demo."""
    install: Installation = request.param
    nc = start_net_cluster(install)
    yield nc
    nc.endpoint.stop()
    nc.cluster.sandbox.destroy()


def _expected_label(nc: NetCluster) -> str:
    name = nc.cluster.sandbox.install.release
    assert name in EXPECTED_LABEL, f"a new vendor build {name!r}: add what its header says"
    return EXPECTED_LABEL[name]


# -- knowing the release ------------------------------------------------------------------


def test_release_is_named_as_closely_as_behaviour_tells(release: NetCluster) -> None:
    jobs_before = release.cluster.sql("select jobid, schedule from cron.job order by jobid")
    sequence_before = release.cluster.sql("select last_value, is_called from cron.jobid_seq")
    facts = facts_of(release.cluster)
    got = facts.pg_cron_release
    assert got is not None and got.probed
    assert got.label == _expected_label(release)
    # 1.6.4 is judged as 1.6.4 (accepts */60); the others as their line's newest release.
    assert got.version == ("1.6.4" if release.cluster.sandbox.install.release == "1.6.4"
                           else got.line)
    assert facts.pg_cron_grammar == got.version
    # The probes wrote nothing (alter_job on job -1): jobs and their sequence are as they were.
    assert release.cluster.sql("select jobid, schedule from cron.job order by jobid") == \
        jobs_before
    assert release.cluster.sql("select last_value, is_called from cron.jobid_seq") == \
        sequence_before


def test_release_in_read_only_mode(release: NetCluster) -> None:
    got = facts_of(release.cluster, read_only=True).pg_cron_release
    assert got is not None and got.probed and got.label == _expected_label(release)


async def test_header_names_the_release(release: NetCluster) -> None:
    async with running_app(release.cluster) as (app, pilot):
        label = _expected_label(release)
        await wait_for(pilot, lambda: f"pg_cron {label}" in
                       str(app.main.query_one("#header").render()))


def test_match_dom_and_dow_is_read_where_it_exists(release: NetCluster) -> None:
    if release.cluster.sandbox.install.release != "master":
        got = facts_of(release.cluster).pg_cron_release
        assert got is not None and got.match_dom_and_dow in (False, None)
        assert not release.cluster.sql(
            "select 1 from pg_settings where name = 'cron.match_dom_and_dow'")
        return
    assert facts_of(release.cluster).pg_cron_release.match_dom_and_dow is False
    release.cluster.sql("alter system set cron.match_dom_and_dow = on")
    release.cluster.sql("select pg_reload_conf()")
    try:
        deadline = time.monotonic() + 10
        while release.cluster.value("show cron.match_dom_and_dow") != "on":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert facts_of(release.cluster).pg_cron_release.match_dom_and_dow is True
    finally:
        release.cluster.sql("alter system reset cron.match_dom_and_dow")
        release.cluster.sql("select pg_reload_conf()")


def test_scheduler_timezone_from_1_5(release: NetCluster) -> None:
    facts = facts_of(release.cluster)
    assert facts.cron_timezone == "GMT" and facts.scheduler_timezone == "GMT"


# -- our verdicts against each release's ----------------------------------------------------


@pytest.fixture(scope="module")
def release_judge(release: NetCluster) -> Iterator[tuple[ServerJudge, str]]:
    version = facts_of(release.cluster).pg_cron_grammar
    assert version is not None
    with psycopg.connect(release.cluster.conninfo, autocommit=False) as conn:
        judge = ServerJudge(conn)
        yield judge, version
        print(f"\n[differential {release.cluster.sandbox.install.label} as {version}] "
              f"{judge.asked} schedules asked in {judge.seconds:.1f} s")
        leftover = conn.execute("select count(*) from cron.job where jobname = %s",
                                [NAME]).fetchone()
        conn.rollback()
        assert leftover == (0,)


@pytest.mark.parametrize("expr", KNOWN, ids=lambda e: repr(e[:30]))
def test_known_cases_match_each_release(release_judge: tuple[ServerJudge, str],
                                        expr: str) -> None:
    if not safe_to_ask(release_judge[1], expr):
        pytest.skip("crashes pg_cron 1.6.0-1.6.4 (see crashes_1_6_0_to_1_6_4)")
    _compare(release_judge[0], expr, release_judge[1])


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(expr=expressions)
@example(expr="*/60 * * * *")
@example(expr="0 0 $ * *")
@example(expr="59 seconds")
def test_verdict_matches_each_release(release_judge: tuple[ServerJudge, str],
                                      expr: str) -> None:
    assume(safe_to_ask(release_judge[1], expr))
    _compare(release_judge[0], expr, release_judge[1])


# -- a schedule that crashes 1.6.0-1.6.4 -----------------------------------------------------

CRASHER = "0 0 * * 3-3/2147483647"  # measured: SIGSEGV on the 1.6.4 build


async def test_a_crashing_schedule_is_never_sent(release: NetCluster) -> None:
    """The form's server check, saving a job, and `schedule --server` refuse it before the
    server sees it where the release may die of it; elsewhere the server refuses it itself.
    Either way the server stays up: a session opened before is not cut."""
    c = release.cluster
    on_1_6_4 = c.sandbox.install.release == "1.6.4"
    jobs_before = c.sql("select jobid from cron.job order by jobid")
    with c.connect() as bystander:
        db = Database(ConnectOptions(dbname=c.conninfo))
        try:
            problem = await check_schedule(db, CRASHER)
            assert problem is not None
            assert ("not sent: pg_cron 1.6.0-1.6.4 crash" in problem) is on_1_6_4
            with pytest.raises(DatabaseError):
                await create_job(db, name="crash-probe", schedule=CRASHER, command="select 1")
        finally:
            await db.close()
        done = subprocess.run([sys.executable, "-m", "tui", "schedule", CRASHER, "--json",
                               "-d", c.conninfo], capture_output=True, text=True, timeout=60,
                              cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        assert done.returncode == 1, done.stderr
        assert json.loads(done.stdout)["valid"] is False
        assert bystander.execute("select 1").fetchone() == (1,)
    assert c.sql("select jobid from cron.job order by jobid") == jobs_before
    log = (c.sandbox.host_datadir / "server.log").read_text()
    assert "terminated by signal" not in log


# -- the seed's jobs, run by the real scheduler ----------------------------------------------


def test_seed_jobs_run_on_each_release(release: NetCluster) -> None:
    """Both seed jobs every 2 seconds (`N seconds`, 1.5+): the rollup succeeds, and the weekly
    check's net.http_post reaches the endpoint with the key and pg_net stores the answer."""
    c = release.cluster
    ids = dict(c.sql("select jobname, jobid from cron.job where jobname = any(%s)",
                     [[seed.WEEKLY, seed.DAILY]]))
    # A request yesterday (UTC), which the rollup of "yesterday" must count.
    user = c.value("insert into public.usage_events (user_id, event_type, "
                   "characters_processed, \"timestamp\") values (gen_random_uuid(), "
                   "'TTS_REQUEST', 1234, (((now() at time zone 'UTC')::date - 1) + "
                   "time '12:00') at time zone 'UTC') returning user_id")
    for jobid in ids.values():
        c.sql("select cron.alter_job(%s, schedule := '2 seconds')", [jobid])
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline:
            done = dict(c.sql("select distinct on (jobid) jobid, status from "
                              "cron.job_run_details where jobid = any(%s) and status in "
                              "('succeeded', 'failed') order by jobid, runid",
                              [list(ids.values())]))
            if len(done) == 2 and release.responses():
                break
            time.sleep(0.3)
    finally:
        for jobid in ids.values():
            c.sql("select cron.alter_job(%s, active := false)", [jobid])
    assert done == {ids[seed.WEEKLY]: "succeeded", ids[seed.DAILY]: "succeeded"}, c.sql(
        "select jobid, status, return_message from cron.job_run_details")
    assert_answer_stored(release.wait_for_response())
    assert_reached_with_the_key(release)
    assert c.value("select total_characters_processed from public.monthly_usage "
                   "where user_id = %s", [user]) == 1234
