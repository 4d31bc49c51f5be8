"""Runs exported as CSV and JSON: from `cronjobs-tui runs --format` and from the TUI."""

from __future__ import annotations

import csv
import io
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.test_cli import cli
from tests.ui.conftest import running_app, wait_for
from tui.masking import MASK

KEYS = ["runid", "jobid", "jobname", "status", "return_message", "start_time", "end_time"]
SECRET = "hunter2-" + "x" * 12


@pytest.fixture
def failed_run(cluster: Cluster) -> Iterator[tuple[str, int]]:
    """A job with one failed run whose message holds a password."""
    name = f"export-{uuid.uuid4().hex[:8]}"
    jobid = cluster.value("select cron.schedule(%s, '0 0 31 2 *', 'select 1')", [name])
    runid = cluster.value(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) values (%s, nextval('cron.runid_seq'), "
        "1, 'postgres', 'postgres', 'x', 'failed', %s, now(), now()) returning runid",
        [jobid, f'ERROR: could not connect, "quoted", password={SECRET}'])
    yield name, runid
    cluster.sql("select cron.unschedule(%s)", [jobid])


def test_runs_csv(cluster: Cluster, failed_run: tuple[str, int]) -> None:
    name, runid = failed_run
    done = cli("runs", "--format", "csv", "-d", cluster.conninfo, "--job", name)
    assert done.returncode == 0, done.stderr
    assert SECRET not in done.stdout
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert done.stdout.splitlines()[0] == ",".join(KEYS)
    (row,) = rows
    assert row["runid"] == str(runid) and row["jobname"] == name and row["status"] == "failed"
    assert row["return_message"] == f'ERROR: could not connect, "quoted", password={MASK}'
    assert row["start_time"] and row["end_time"]


def test_runs_json_and_the_alias(cluster: Cluster, failed_run: tuple[str, int]) -> None:
    name, runid = failed_run
    outputs = [cli("runs", *flag, "-d", cluster.conninfo, "--job", name, "--status", "failed")
               for flag in (("--format", "json"), ("--json",))]
    for done in outputs:
        assert done.returncode == 0, done.stderr
        assert SECRET not in done.stdout
        (run,) = json.loads(done.stdout)
        # --json adds pg_net's answer (tui/outcome) and the start lag (tui/insight/lag).
        assert list(run) == [*KEYS, "http_status", "http_error", "http_note", "lag_s"]
        assert run["runid"] == runid
        assert run["return_message"].endswith(f"password={MASK}")
    assert outputs[0].stdout == outputs[1].stdout


def test_runs_table_is_still_the_default(cluster: Cluster, failed_run: tuple[str, int]) -> None:
    done = cli("runs", "-d", cluster.conninfo, "--job", failed_run[0])
    assert done.returncode == 0 and done.stdout.startswith("RUNID")
    bad = cli("runs", "--format", "xml", "-d", cluster.conninfo)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


async def test_export_from_the_tui(cluster: Cluster, failed_run: tuple[str, int],
                                   tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """ctrl+e writes the runs of the current filter (here: failed only) to the path typed,
    and names the file written by its whole path."""
    name, runid = failed_run
    monkeypatch.chdir(tmp_path)
    target = tmp_path.resolve() / "failed.json"
    async with running_app(cluster) as (app, pilot):
        await pilot.press("f")  # runs: failed only
        await wait_for(pilot, lambda: app.main.runs_table.status_filter == "failed")
        await pilot.press("ctrl+e")
        await wait_for(pilot, lambda: type(app.screen).__name__ == "ExportScreen")
        box = app.screen.query_one("#export-path")
        assert box.value.startswith("runs-") and box.value.endswith(".csv")
        box.value = "failed.json"  # relative: to the folder the app was started in
        await pilot.press("enter")
        await wait_for(pilot, target.exists)
        await wait_for(pilot, lambda: target.stat().st_size > 0 and
                       target.read_text().rstrip().endswith("]"))
        said = f"run(s) to {target} (json)"
        await wait_for(pilot, lambda: any(said in n.message for n in app._notifications))
    runs = json.loads(target.read_text())
    assert runs and {r["status"] for r in runs} == {"failed"}
    mine = next(r for r in runs if r["runid"] == runid)
    assert mine["jobname"] == name and SECRET not in target.read_text()
    assert mine["return_message"].endswith(f"password={MASK}")


def test_csv_cells_never_run_as_formulas(cluster: Cluster) -> None:
    """Whoever may schedule a job writes its name and its output; a spreadsheet must show
    them as text. JSON is data and stays exact."""
    name = f"=HYPERLINK(\"http://x.test/?{uuid.uuid4().hex[:6]}\")"
    jobid = cluster.value("select cron.schedule(%s, '0 0 31 2 *', 'select 1')", [name])
    try:
        cluster.sql(
            "insert into cron.job_run_details (jobid, runid, job_pid, database, username, "
            "command, status, return_message, start_time, end_time) values (%s, "
            "nextval('cron.runid_seq'), 1, 'postgres', 'postgres', 'x', 'failed', "
            "'@SUM(1+1)', now(), now())", [jobid])
        done = cli("runs", "--format", "csv", "-d", cluster.conninfo, "--job", name)
        assert done.returncode == 0, done.stderr
        (row,) = csv.DictReader(io.StringIO(done.stdout))
        assert row["jobname"] == "'" + name and row["return_message"] == "'@SUM(1+1)"
        assert row["status"] == "failed" and row["runid"].isdigit()
        raw = cli("runs", "--format", "json", "-d", cluster.conninfo, "--job", name)
        (run,) = json.loads(raw.stdout)
        assert run["jobname"] == name and run["return_message"] == "@SUM(1+1)"
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])
