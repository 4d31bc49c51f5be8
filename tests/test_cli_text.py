"""Text output of the subcommands read as a person reads it: piped (every row whole, on one
line) and on terminals of 60 to 200 columns (wrapped inside its columns, never cut)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import Cluster
from tests.terminal_run import on_terminal
from tests.test_cli import cli
from tui.masking import MASK

SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZSJ9.dGV4dC1vdXRwdXQtc2VjcmV0"
#: A reason far wider than any terminal, with a last word to find.
LONG = "ERROR:  " + " ".join(f"relation_{i}_is_missing" for i in range(16)) + " END-OF-TEXT"


def words(text: str) -> str:
    return " ".join(text.split())


def squash(text: str) -> str:
    """The text without its blanks: what must survive wrapping, in order."""
    return "".join(text.split())


def column(lines: list[str], header: str, row_has: str, key: str, after: str | None = None,
           ) -> str:
    """The text of one column (`header`, up to the `after` column) of the row whose first
    line holds `row_has`, over its wrapped lines: a row's next lines are blank in the `key`
    column, which never wraps."""
    head = next(line for line in lines if header in line.split())
    start, end, at = head.index(header), head.index(after) if after else None, head.index(key)
    first = next(i for i, line in enumerate(lines) if row_has in line and line is not head)
    parts = [lines[first][start:end]]
    for line in lines[first + 1:]:
        if not line or line[at:at + 1].strip():
            break
        parts.append(line[start:end])
    return " ".join(parts)


def assert_fits(text: str, columns: int) -> list[str]:
    lines = text.splitlines()
    assert lines and max(len(line) for line in lines) <= columns, max(lines, key=len)
    return lines


@pytest.fixture
def failed_job(cluster: Cluster) -> Iterator[tuple[str, datetime]]:
    """A job with a long name and one failed run with a long message, at a time of its
    schedule: the start of the hour before last."""
    name = "nightly-ledger-reconciliation-for-every-tenant-" + uuid.uuid4().hex[:8]
    jobid = cluster.value("select cron.schedule(%s, '0 * * * *', 'select 1')", [name])
    base = cluster.value("select date_trunc('hour', now()) - interval '2 hours'")
    cluster.sql(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) select jobid, nextval('cron.runid_seq'),"
        " 4242, database, username, command, 'failed', %s, %s, %s from cron.job "
        "where jobid = %s", [LONG, base + timedelta(seconds=0.4), base + timedelta(seconds=1),
                             jobid])
    yield name, base
    cluster.sql("select cron.unschedule(%s)", [jobid])


def test_explain_reason_whole(cluster: Cluster, failed_job: tuple[str, datetime]) -> None:
    name, base = failed_job
    args = ("explain", name, "-d", cluster.conninfo, "--since",
            (base - timedelta(seconds=1)).isoformat())
    piped = cli(*args)
    assert piped.returncode == 0, piped.stderr
    row = next(line for line in piped.stdout.splitlines() if "END-OF-TEXT" in line)
    assert row.endswith(f"failed: {LONG}")  # one line, whole
    assert piped.stdout.startswith(name + " ")
    for columns in (80, 200):
        shown = on_terminal(*args, columns=columns)
        assert shown.returncode == 0, shown.stderr
        lines = assert_fits(shown.stdout, columns)
        reason = column(lines, "REASON", " failed ", key="RUNID")
        assert squash(reason) == squash(f"failed: {LONG}"), shown.stdout
    assert max(len(line) for line in on_terminal(*args, columns=80).stdout.splitlines()) > 60


def test_runs_and_jobs_whole(cluster: Cluster, failed_job: tuple[str, datetime]) -> None:
    name, _ = failed_job
    piped = cli("runs", "-d", cluster.conninfo, "--job", name)
    assert piped.returncode == 0
    assert any(name in line and line.endswith(LONG) for line in piped.stdout.splitlines())
    shown = on_terminal("runs", "-d", cluster.conninfo, "--job", name, columns=80)
    lines = assert_fits(shown.stdout, 80)
    assert squash(column(lines, "MESSAGE", "failed", key="RUNID")) == squash(LONG)
    assert squash(column(lines, "JOB", "failed", key="RUNID", after="STATUS")) == name

    piped = cli("jobs", "-d", cluster.conninfo)
    assert any(line.split()[1:2] == [name] for line in piped.stdout.splitlines())
    shown = on_terminal("jobs", "-d", cluster.conninfo, columns=100)
    lines = assert_fits(shown.stdout, 100)
    assert squash(column(lines, "NAME", name[:10], key="ID", after="SCHEDULE")) == name


def test_plan_shows_a_commands_change_as_a_whole_diff(cluster: Cluster, tmp_path: Path) -> None:
    name = f"plan-diff-{uuid.uuid4().hex[:8]}"
    note = " ".join(f"step{i}" for i in range(40))
    before = ("select net.http_post(\n"
              "    url := 'https://example.test/functions/v1/adapter-health',\n"
              f"    headers := jsonb_build_object('Authorization', 'Bearer {SECRET}'),\n"
              "    body := jsonb_build_object('rows', 1)\n"
              ")")
    after = before.replace("'rows', 1)", f"'rows', 2, 'note', '{note}')")
    jobid = cluster.value("select cron.schedule(%s, '0 0 31 2 *', %s)", [name, before])
    path = tmp_path / "jobs.toml"
    try:
        path.write_text(f'[[job]]\nname = "{name}"\nschedule = "0 0 31 2 *"\n'
                        f'command = """{after}"""\n')
        piped = cli("plan", str(path), "-d", cluster.conninfo)
        assert piped.returncode == 1, piped.stderr  # drift
        assert SECRET not in piped.stdout and MASK in piped.stdout
        lines = piped.stdout.splitlines()
        start = lines.index("    command (the server's → the file's):")
        assert lines[start + 1:start + 9] == [
            "      --- server",
            "      +++ file",
            "       select net.http_post(",
            "           url := 'https://example.test/functions/v1/adapter-health',",
            f"           headers := jsonb_build_object('Authorization', 'Bearer {MASK}'),",
            "      -    body := jsonb_build_object('rows', 1)",
            f"      +    body := jsonb_build_object('rows', 2, 'note', '{note}')",
            "       )"]
        narrow = on_terminal("plan", str(path), "-d", cluster.conninfo, columns=60)
        assert narrow.returncode == 1
        shown = assert_fits(narrow.stdout, 60)
        assert "step39')" in narrow.stdout and words(note) in words(narrow.stdout)
        assert any(line.startswith("      +    body := ") for line in shown)

        # Only the secret differs: said so, never shown.
        path.write_text(f'[[job]]\nname = "{name}"\nschedule = "0 0 31 2 *"\n'
                        f'command = """{before.replace(SECRET, SECRET[::-1])}"""\n')
        secret = cli("plan", str(path), "-d", cluster.conninfo)
        assert "(only a masked secret differs)" in secret.stdout
        assert SECRET not in secret.stdout and SECRET[::-1] not in secret.stdout
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])


def test_timeline_lists_whole(cluster: Cluster) -> None:
    """Eight jobs with long names at one minute: the busiest minute names all of them."""
    stamp = uuid.uuid4().hex[:6]
    names = [f"tenant-{i}-nightly-warehouse-export-{stamp}" for i in range(8)]
    now = cluster.value("select now()")
    at = now + timedelta(hours=3)
    ids = [cluster.value("select cron.schedule(%s, %s, 'select 1')",
                         [n, f"{at.minute} {at.hour} * * *"]) for n in names]
    try:
        piped = cli("timeline", "-d", cluster.conninfo)
        assert piped.returncode == 0, piped.stderr
        line = next(line for line in piped.stdout.splitlines() if names[0] in line)
        assert all(n in line for n in names) and "…" not in line
        shown = on_terminal("timeline", "-d", cluster.conninfo, columns=80)
        lines = assert_fits(shown.stdout, 80)
        assert all(n in words(shown.stdout) for n in names)
        assert sum(1 for line in lines if stamp in line) > 1  # wrapped, under its indent
    finally:
        for jobid in ids:
            cluster.sql("select cron.unschedule(%s)", [jobid])


def test_doctor_and_schedule_fit_the_terminal(cluster: Cluster) -> None:
    for columns in (60, 120):
        shown = on_terminal("doctor", "-d", cluster.conninfo, columns=columns)
        assert shown.returncode in (0, 1), shown.stderr
        assert_fits(shown.stdout, columns)
    args = ("schedule", "@yearly", "--pg-cron", "1.6", "--from", "2026-05-05T10:30Z")
    piped = cli(*args)
    assert piped.stdout.count("never fires") == 1
    warning = next(line for line in piped.stdout.splitlines() if "warning:" in line)
    assert len(warning) > 60  # one line piped
    narrow = on_terminal(*args, columns=60)
    assert_fits(narrow.stdout, 60)
    assert words(warning) in words(narrow.stdout)
    wide = on_terminal(*args, columns=200).stdout.splitlines()
    heading = wide.index("next runs (UTC):") + 1
    assert wide[heading].index("|") == wide[heading + 1].index("|")
    assert wide[heading].index("ordinary") == wide[heading + 1].index("2027")
    assert json.loads(cli(*args, "--json").stdout)["standard_cron"]["differs"] is True
