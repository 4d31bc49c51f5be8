"""JOB, as every subcommand reads it (issue 28): `#id` or an exact name; a name two roles
share is refused by every subcommand alike, naming each job, and nothing is done; a name no
visible job has is said so, with a word on row-level security for a role under it. And
`explain --since` as a person means it."""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.conftest import Cluster
from tui.cli import main

TWIN = "corpus-nightly-twin"
OTHER = "corpus_twin_owner"
WATCHER = "corpus_rls_watcher"


def call(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(argv))
        except SystemExit as exc:
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def twins(cluster: Cluster) -> Iterator[list[int]]:
    """Two jobs named alike, of two roles (pg_cron keeps names unique per role only)."""
    cluster.sql(f"drop role if exists {OTHER}; create role {OTHER}")
    port = cluster.sandbox.port
    ids = [cluster.value(
        "insert into cron.job (schedule, command, nodename, nodeport, database, username, "
        "jobname, active) values ('0 3 1 1 *', 'select 1', 'localhost', %s, 'postgres', %s, "
        "%s, false) returning jobid", [port, role, TWIN]) for role in ("postgres", OTHER)]
    yield ids
    cluster.sql("delete from cron.job where jobid = any(%s)", [ids])
    cluster.sql(f"drop role if exists {OTHER}")


def _state(cluster: Cluster) -> list[tuple[object, ...]]:
    return cluster.sql("select jobid, active, command from cron.job order by jobid")


@pytest.mark.parametrize("argv", [["runs", "--job", TWIN], ["explain", TWIN], ["http", TWIN],
                                  ["run", TWIN, "--yes"], ["pause", TWIN, "--yes"],
                                  ["resume", TWIN, "--yes"]], ids=lambda a: a[0])
def test_a_shared_name_is_refused_by_every_subcommand_naming_each_job(
        cluster: Cluster, twins: list[int], argv: list[str]) -> None:
    before = _state(cluster)
    code, out, err = call(*argv, "-d", cluster.conninfo)
    assert code == 2, (out, err)
    first, second = twins
    assert f"#{first} (postgres, postgres)" in err and f"#{second} ({OTHER}, postgres)" in err
    assert "name one by its #id" in err
    assert _state(cluster) == before


def test_an_id_picks_one_of_them(cluster: Cluster, twins: list[int]) -> None:
    code, out, err = call("runs", "--job", f"#{twins[1]}", "-d", cluster.conninfo, "--json")
    assert code == 0, err
    assert out.strip() == "[]"  # the job never ran: its runs, not the other's


def test_a_name_nobody_has_is_said_so(cluster: Cluster) -> None:
    code, _, err = call("explain", "corpus-no-such-job", "-d", cluster.conninfo)
    assert code == 2
    assert "no job named 'corpus-no-such-job' visible to this role" in err
    assert "row-level security" not in err  # a superuser sees every job


@pytest.fixture
def watcher(cluster: Cluster) -> Iterator[str]:
    """A login under pg_cron's row-level security: it sees its own jobs only."""
    cluster.sql(f"drop role if exists {WATCHER}; create role {WATCHER} login password "
                "'corpus-pw' nosuperuser nobypassrls; "
                f"grant usage on schema cron to {WATCHER}; "
                f"grant select on cron.job, cron.job_run_details to {WATCHER}")
    from psycopg.conninfo import make_conninfo

    yield make_conninfo(cluster.conninfo, user=WATCHER, password="corpus-pw", passfile="")
    cluster.sql(f"drop owned by {WATCHER}; drop role if exists {WATCHER}")


def test_under_row_level_security_the_job_may_be_another_roles(
        cluster: Cluster, twins: list[int], watcher: str) -> None:
    code, _, err = call("runs", "--job", TWIN, "-d", watcher)
    assert code == 2
    assert f"no job named '{TWIN}' visible to this role" in err
    assert f"role {WATCHER} sees only its own jobs" in err and "another role" in err


def test_since_a_span_or_a_date_as_meant(cluster: Cluster) -> None:
    """`3d` counts back from the server's clock; a bare date is midnight in the scheduler's
    zone, and the output says so."""
    code, out, err = call("explain", "daily-usage-rollup", "--since", "3d",
                          "-d", cluster.conninfo)
    assert code == 0, err
    now = cluster.value("select now()")
    header = out.splitlines()[0]
    starts = {f"{now - timedelta(days=3, minutes=m):%Y-%m-%d %H:%M}" for m in (0, 1, 2)}
    assert any(f", {s} to " in header for s in starts), header

    day = (now - timedelta(days=2)).date().isoformat()
    code, out, err = call("explain", "daily-usage-rollup", "--since", day, "-d", cluster.conninfo)
    assert code == 0, err
    header, note = out.splitlines()[:2]
    zone = header.split("' in ", 1)[1].split(",", 1)[0]
    assert f", {day} 00:00 to " in header, header
    assert note == f"--since: a date, read in the scheduler's zone ({zone})", out
