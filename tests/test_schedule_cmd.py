"""`cronjobs-tui schedule`, run as a script would run it: offline, and against real servers."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import Cluster

KEYS = {"valid", "error", "description", "next_runs", "warnings", "standard_cron"}
UTC = timezone.utc


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", "schedule", *args], capture_output=True,
                          text=True, timeout=60, env=env)


def as_json(*args: str) -> tuple[int, dict[str, Any]]:
    done = cli(*args, "--json")
    assert done.stderr == ""
    out = json.loads(done.stdout)
    assert set(out) == KEYS
    return done.returncode, out


def test_valid_json_has_exact_keys_and_offsets() -> None:
    code, out = as_json("0 3 * * SUN", "--from", "2026-11-28T12:00:00+00:00", "--count", "3")
    assert code == 0
    assert out == {
        "valid": True,
        "error": None,
        "description": out["description"],
        "next_runs": ["2026-11-29T03:00:00+00:00", "2026-12-06T03:00:00+00:00",
                      "2026-12-13T03:00:00+00:00"],
        "warnings": [],
        # ordinary cron reads it alike (tests/cron/test_standard.py covers where it does not)
        "standard_cron": {"differs": False, "reasons": [], "error": None,
                          "next_runs": out["next_runs"]},
    }
    assert "Sunday" in str(out["description"])


def test_invalid_exits_1_with_pg_crons_message_and_a_hint() -> None:
    code, out = as_json("5/15 * * * *")
    assert code == 1
    assert out["valid"] is False and out["next_runs"] == [] and out["description"] is None
    assert out["error"] == "invalid schedule: 5/15 * * * *"
    assert out["warnings"] and "*/N" in out["warnings"][0]  # the hint comes first


def test_defaults_are_five_runs_from_now_in_utc() -> None:
    before = datetime.now(UTC)
    code, out = as_json("* * * * *")
    after = datetime.now(UTC)  # however long the command took to start (a busy machine)
    assert code == 0
    runs = [datetime.fromisoformat(r) for r in out["next_runs"]]
    assert len(runs) == 5
    assert all(r.utcoffset() == timedelta(0) for r in runs)
    assert before < runs[0] <= after + timedelta(minutes=1)
    assert all(b - a == timedelta(minutes=1) for a, b in zip(runs, runs[1:]))


def test_offsets_follow_the_zone_across_dst() -> None:
    code, out = as_json("30 2 * * *", "--timezone", "Europe/Berlin",
                        "--from", "2027-03-26T00:00", "--count", "3")
    assert code == 0
    # 2027-03-28 02:30 does not exist in Berlin: that day has no run.
    assert out["next_runs"] == ["2027-03-26T02:30:00+01:00", "2027-03-27T02:30:00+01:00",
                                "2027-03-29T02:30:00+02:00"]


@pytest.mark.parametrize(("expr", "old", "new"), [
    ("0 0 $ * *", "1.4", "1.6"),
    ("0 0 $ * *", "1.5", "1.6"),
    ("30 seconds", "1.4", "1.5"),
    ("30 seconds", "1.4", "1.6"),
])
def test_versions_differ(expr: str, old: str, new: str) -> None:
    code, out = as_json(expr, "--pg-cron", old)
    assert (code, out["valid"]) == (1, False)
    assert out["error"] == f"invalid schedule: {expr}"
    assert f"pg_cron {'1.6' if '$' in expr else '1.5'} or newer" in out["warnings"][0]
    code, out = as_json(expr, "--pg-cron", new, "--from", "2026-01-30T00:00:00Z", "--count", "2")
    assert (code, out["valid"]) == (0, True)
    if "$" in expr:
        assert out["next_runs"] == ["2026-01-31T00:00:00+00:00", "2026-02-28T00:00:00+00:00"]
    else:
        assert out["next_runs"] == ["2026-01-30T00:00:30+00:00", "2026-01-30T00:01:00+00:00"]


def test_step_over_the_maximum_differs_between_14_and_16() -> None:
    assert as_json("*/60 * * * *", "--pg-cron", "1.4")[0] == 0
    assert as_json("*/60 * * * *", "--pg-cron", "1.6")[0] == 1


def test_ignored_field_is_a_warning() -> None:
    code, out = as_json("0 12 * * * 30", "--from", "2026-01-01T13:00:00Z", "--count", "1")
    assert code == 0
    assert out["next_runs"] == ["2026-01-02T12:00:00+00:00"]
    assert any("'30' has no effect" in str(w) for w in out["warnings"])
    done = cli("0 12 * * * 30")
    assert done.returncode == 0
    assert "warning: pg_cron reads five fields and ignores the rest" in done.stdout


def test_human_output_names_the_zone() -> None:
    done = cli("0 9 * * MON-FRI", "--timezone", "America/New_York",
               "--from", "2026-07-03T12:00:00Z", "--count", "2")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "valid: pg_cron 1.6 accepts '0 9 * * MON-FRI'"
    assert "next runs (America/New_York):" in lines
    assert "  2026-07-06T09:00:00-04:00  Mon" in lines


def test_14_evaluates_in_utc_whatever_the_zone() -> None:
    code, out = as_json("0 9 * * *", "--pg-cron", "1.4", "--timezone", "Europe/Berlin",
                        "--from", "2026-07-01T00:00:00Z", "--count", "1")
    assert code == 0
    assert out["next_runs"] == ["2026-07-01T11:00:00+02:00"]  # 09:00 UTC, shown in Berlin
    assert any("1.4 evaluates schedules in UTC" in str(w) for w in out["warnings"])


def test_hostile_expression_is_printed_inert() -> None:
    expr = "\x1b[2J\x1b]0;pwned\x07 * * * *\r\u202e\x9b"
    done = cli(expr)
    assert done.returncode == 1
    for char in ("\x1b", "\x07", "\r", "\u202e", "\x9b"):
        assert char not in done.stdout and char not in done.stderr
    assert "\\x1b[2J\\x1b]0;pwned\\x07" in done.stdout
    done = cli(expr, "--json")
    assert done.returncode == 1 and done.stdout.isascii()
    assert json.loads(done.stdout)["error"] == f"invalid schedule: {expr}"  # intact once decoded


def test_newlines_in_a_valid_expression_stay_on_one_line() -> None:
    done = cli("\n5 4 * * *\t")
    assert done.returncode == 0
    assert done.stdout.splitlines()[0] == "valid: pg_cron 1.6 accepts '\\n5 4 * * *\\t'"


@pytest.mark.parametrize("args", [
    ("* * * * *", "--timezone", "Mars/Olympus"),
    ("* * * * *", "--from", "yesterday"),
    ("* * * * *", "--count", "-1"),
    ("* * * * *", "--pg-cron", "1.3"),
])
def test_bad_options_exit_2(args: tuple[str, ...]) -> None:
    done = cli(*args)
    assert done.returncode == 2
    assert done.stdout == "" and "Traceback" not in done.stderr


def test_unreachable_server_exits_2() -> None:
    done = cli("* * * * *", "-h", "127.0.0.1", "-p", "1", "-d", "postgres")
    assert done.returncode == 2
    assert done.stderr.startswith("cronjobs-tui: could not connect to ") and done.stdout == ""
    assert "@127.0.0.1:1/postgres" in done.stderr


# -- server mode -----------------------------------------------------------------------


def test_server_mode_uses_the_servers_version(cluster: Cluster) -> None:
    """'$' and intervals: whatever version the server runs, its verdict is the answer."""
    for expr, since in (("0 0 $ * *", "1.6"), ("30 seconds", "1.5")):
        done = cli(expr, "--json", "-d", cluster.conninfo)
        out = json.loads(done.stdout)
        assert set(out) == KEYS
        accepted = cluster.pg_cron >= since
        assert (done.returncode, out["valid"]) == ((0, True) if accepted else (1, False))
        if not accepted:
            assert out["error"] == f"invalid schedule: {expr}"
        # nothing was left behind by the check
        assert cluster.value("select count(*) from cron.job where jobname like "
                             "'cronjobs-tui-check-%'") == 0


def test_server_mode_runs_from_the_servers_clock_in_its_zone(cluster: Cluster) -> None:
    done = cli("*/5 * * * *", "--json", "-d", cluster.conninfo, "--count", "2")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    now = cluster.value("select now()")
    runs = [datetime.fromisoformat(r) for r in out["next_runs"]]
    assert len(runs) == 2
    # The seed cluster keeps the default zone: GMT on 1.5+, UTC always on 1.4.
    assert all(r.utcoffset() == timedelta(0) for r in runs)
    assert now - timedelta(minutes=5) < runs[0] <= now + timedelta(minutes=5)
    assert runs[0].minute % 5 == 0 and runs[1] - runs[0] == timedelta(minutes=5)
    human = cli("*/5 * * * *", "-d", cluster.conninfo, "--count", "1")
    zone = "UTC" if cluster.pg_cron == "1.4" else "GMT"
    assert f"next runs ({zone}):" in human.stdout
    assert f"pg_cron {cluster.pg_cron})" in human.stdout


def test_server_mode_from_and_warnings(cluster: Cluster) -> None:
    done = cli("0 12 * * * 30", "--json", "-d", cluster.conninfo, "--from",
               "2026-01-01T13:00:00+00:00", "--count", "1")
    out = json.loads(done.stdout)
    assert done.returncode == 0
    assert [datetime.fromisoformat(r) for r in out["next_runs"]] == [
        datetime(2026, 1, 2, 12, tzinfo=UTC)]
    assert any("'30' has no effect" in w for w in out["warnings"])
    assert not any("disagree" in w or "wins" in w for w in out["warnings"])


def test_server_mode_invalid_and_inert(cluster: Cluster) -> None:
    expr = "5/15 * * * *\x1b[31m"
    done = cli(expr, "-d", cluster.conninfo)
    assert done.returncode == 1
    assert "\x1b" not in done.stdout
    assert "invalid: the server (" in done.stdout
    assert "invalid schedule: 5/15 * * * *\\x1b[31m" in done.stdout


def test_server_mode_conflicting_options_exit_2(cluster: Cluster) -> None:
    for extra in (("--pg-cron", "1.6"), ("--timezone", "UTC")):
        done = cli("* * * * *", "-d", cluster.conninfo, *extra)
        assert done.returncode == 2 and "server mode" in done.stderr


def test_server_flag_uses_pg_environment(cluster: Cluster) -> None:
    import os

    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(cluster.conninfo)
    env = dict(os.environ, PGHOST=str(params["host"]), PGPORT=str(params["port"]),
               PGUSER=str(params.get("user", "postgres")),
               PGDATABASE=str(params.get("dbname", "postgres")))
    if params.get("passfile"):  # the sandbox's owner logs in with a password
        env["PGPASSFILE"] = str(params["passfile"])
    done = cli("@daily", "--server", "--json", env=env)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["valid"] is True


def test_server_mode_without_pg_read_all_settings(cluster: Cluster) -> None:
    """A role that may not read cron.timezone gets no next runs on 1.5+, and is told why."""
    cluster.sql("drop role if exists sched_viewer")
    cluster.sql("create role sched_viewer login")
    cluster.sql("grant usage on schema cron to sched_viewer")
    try:
        done = cli("*/5 * * * *", "--json", "-d", cluster.sandbox.conninfo(user="sched_viewer"))
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["valid"] is True
        if cluster.pg_cron == "1.4":
            assert len(out["next_runs"]) == 5  # 1.4 is always UTC: nothing to read
        else:
            assert out["next_runs"] == []
            assert any("cron.timezone" in w for w in out["warnings"])
        human = cli("*/5 * * * *", "-d", cluster.sandbox.conninfo(user="sched_viewer"))
        if cluster.pg_cron != "1.4":
            assert "next runs: unknown" in human.stdout
    finally:
        cluster.sql("drop owned by sched_viewer")
        cluster.sql("drop role sched_viewer")
