"""One exit-code table for every subcommand (README, *Headless subcommands*): 0 fine, 1 found
something, 2 refused or bad usage, 70 internal. Each subcommand is run as a script runs it, in
each of its cases."""

from __future__ import annotations

import argparse
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.test_cli import cli
from tui.cli.output import FOUND, INTERNAL, INTERRUPTED, OK, REFUSED, run_handler
from tui.lab.demo_http import AdapterHealth
from tui.lab.seed import weekly_command

NOWHERE = "host=127.0.0.1 port=1 dbname=postgres user=postgres connect_timeout=3"


@pytest.fixture
def jobs(cluster: Cluster) -> Iterator[dict[str, str]]:
    """A job that succeeds, one that fails, and HTTP jobs that a real local endpoint lets in
    or turns away; scheduled on 31 February, so they run only when the test runs them."""
    tag = uuid.uuid4().hex[:6]
    names = {"ok": f"codes-ok-{tag}", "fails": f"codes-fails-{tag}",
             "http": f"codes-http-{tag}", "http_denied": f"codes-http-denied-{tag}"}
    with AdapterHealth("the-right-key") as endpoint, cluster.connect() as conn:
        commands = {"ok": "select 1", "fails": "select 1 / 0",
                    "http": weekly_command(conn, endpoint.functions_url, "the-right-key"),
                    "http_denied": weekly_command(conn, endpoint.functions_url, "a-wrong-key")}
        ids = [cluster.value("select cron.schedule(%s, '0 0 31 2 *', %s)",
                             [names[k], commands[k]]) for k in names]
        try:
            yield names
        finally:
            conn.execute("select cron.unschedule(jobid) from cron.job where jobid = any(%s)",
                         [ids])


def code(*args: str) -> int:
    return cli(*args).returncode


def test_each_subcommand_in_each_case(cluster: Cluster, jobs: dict[str, str],
                                      tmp_path: Path) -> None:
    d = ("-d", cluster.conninfo)
    # Fine, and refused or bad usage, for the ones that only read.
    for sub in (("jobs",), ("runs",), ("timeline",), ("explain", jobs["ok"])):
        assert code(*sub, *d) == OK, sub
        assert code(*sub, "-d", NOWHERE) == REFUSED, sub  # no connection
        assert code(*sub, "--no-such-option", *d) == REFUSED, sub
    assert code("runs", "--job", "no-such-job-anywhere", *d) == REFUSED
    assert code("explain", "no-such-job-anywhere", *d) == REFUSED
    assert code("timeline", "--hours", "0", *d) == REFUSED

    # schedule: valid, found invalid, bad usage.
    assert code("schedule", "0 3 * * SUN") == OK
    assert code("schedule", "0 3 * * FUNDAY") == FOUND
    assert code("schedule", "@daily", "--pg-cron", "2.0") == REFUSED

    # doctor: its exit code says what its JSON says.
    doctor = cli("doctor", "--json", *d)
    assert doctor.returncode == (OK if json.loads(doctor.stdout)["ok"] else FOUND)
    assert code("doctor", "-d", NOWHERE) == REFUSED

    # http: an answer below 400, an HTTP error, a job that makes no HTTP call.
    assert code("http", jobs["http"], *d) == OK
    assert code("http", jobs["http_denied"], *d) == FOUND  # 401
    assert code("http", jobs["ok"], *d) == REFUSED

    # run: succeeded, failed, refused (no --yes and no terminal to ask on).
    assert code("run", jobs["ok"], "--yes", *d) == OK
    assert code("run", jobs["fails"], "--yes", *d) == FOUND
    assert code("run", jobs["ok"], *d) == REFUSED
    # pause / resume: done, refused without --yes, refused read-only.
    assert code("pause", jobs["ok"], *d) == REFUSED
    assert code("resume", jobs["ok"], "--yes", *d) == OK
    assert code("pause", jobs["ok"], "--yes", "--read-only", *d) == REFUSED
    assert code("pause", jobs["ok"], "--yes", *d) == OK

    # plan / apply: no drift, drift, not confirmed, a bad file.
    same = tmp_path / "same.toml"
    same.write_text(f'[[job]]\nname = "{jobs["ok"]}"\nschedule = "0 0 31 2 *"\n'
                    'command = "select 1"\nactive = false\n')
    drift = tmp_path / "drift.toml"
    drift.write_text(same.read_text().replace("select 1", "select 2"))
    bad = tmp_path / "bad.toml"
    bad.write_text("[[job]\n")
    assert code("plan", str(same), *d) == OK
    assert code("plan", str(drift), *d) == FOUND
    assert code("plan", str(bad), *d) == REFUSED
    assert code("apply", str(same), *d) == OK  # nothing to do: nothing asked
    refused = cli("apply", str(drift), *d)
    assert refused.returncode == REFUSED and "--yes" in refused.stderr  # like run and pause
    assert code("apply", str(bad), "--yes", *d) == REFUSED
    assert cluster.value("select command from cron.job where jobname = %s",
                         [jobs["ok"]]) == "select 1"  # refused: nothing written

    # demo takes no connection options.
    assert code("-h", "db.example.com", "demo", "--print-dsn") == REFUSED


def test_internal_errors_and_interrupts(capsys: pytest.CaptureFixture[str]) -> None:
    """A bug of ours is one masked line and INTERNAL, never a traceback; Ctrl+C is 130."""
    def broken(args: argparse.Namespace) -> int:
        raise ValueError(f"unexpected: postgresql://app:{'hunter2-pass'}@db/x")

    def interrupted(args: argparse.Namespace) -> int:
        raise KeyboardInterrupt

    assert run_handler(broken, argparse.Namespace(), inert_output=True) == INTERNAL
    err = capsys.readouterr().err
    assert err.startswith("cronjobs-tui: internal error: ValueError: unexpected:")
    assert "hunter2-pass" not in err and "Traceback" not in err
    assert run_handler(interrupted, argparse.Namespace(), inert_output=True) == INTERRUPTED


def test_the_readme_table_is_the_codes() -> None:
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("Every subcommand exits with one of these codes"):]
    cells = [line.split("|")[1].strip() for line in table.splitlines()[1:12]
             if line.startswith("| ")]
    assert cells[0] == "code"
    assert cells[1:] == [str(c) for c in (OK, FOUND, REFUSED, INTERNAL, INTERRUPTED)]
