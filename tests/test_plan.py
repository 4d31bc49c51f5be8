"""Jobs as code: `plan` and `apply` against real servers, starting from an empty pg_cron."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import INSTALLATIONS
from tui.lab.sandbox import Installation, Sandbox, throwaway
from tui.masking import MASK
from tui.plan import jobs_file
from tui.plan.jobs_file import JobsFileError

EXAMPLE = jobs_file.example_path()
SECRET = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZSJ9.c2VjcmV0LXNpZ25hdHVyZS14eXo"


class Empty:
    """A cluster with pg_cron created and nothing else: no seed, no jobs."""

    def __init__(self, install: Installation):
        self.sandbox: Sandbox = throwaway(install)
        self.sandbox.start()
        self.sandbox.wait_ready()
        self.sql("create extension pg_cron")

    @property
    def conninfo(self) -> str:
        return self.sandbox.conninfo()

    def sql(self, query: str, params: object = None) -> list[tuple[object, ...]]:
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            cur = conn.execute(query, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def jobs(self) -> dict[str, tuple[object, ...]]:
        rows = self.sql("select jobname, schedule, command, database, username, active "
                        "from cron.job order by jobid")
        return {str(r[0]): r[1:] for r in rows}

    def clear(self) -> None:
        self.sql("select cron.unschedule(jobid) from cron.job")


@pytest.fixture(scope="module", params=INSTALLATIONS, ids=lambda i: i.label)
def empty_server(request: pytest.FixtureRequest) -> Iterator[Empty]:
    server = Empty(request.param)
    yield server
    server.sandbox.destroy()


@pytest.fixture
def empty(empty_server: Empty) -> Empty:
    empty_server.clear()
    return empty_server


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, timeout=60, input=stdin)


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "jobs.toml"
    path.write_text(body)
    return path


def job(name: str, schedule: str = "0 0 31 2 *", command: str = "select 1",
        **extra: object) -> str:
    lines = [f'[[job]]\nname = "{name}"\nschedule = "{schedule}"\ncommand = """{command}"""']
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "\n".join(lines) + "\n\n"


# -- the example file onto an empty database -----------------------------------------

def test_example_file_keeps_the_key_out() -> None:
    text = EXAMPLE.read_text()
    assert "service_role_key" in text and "vault.decrypted_secrets" in text
    assert "eyJ" not in text and "Bearer ey" not in text
    spec = jobs_file.load(EXAMPLE)
    assert [(j.name, j.schedule) for j in spec.jobs] == [
        ("weekly-adapter-check", "0 3 * * SUN"), ("daily-usage-rollup", "5 0 * * *")]
    assert spec.jobs[1].command == "SELECT public.rollup_daily_usage()"


def test_seed_planned_and_applied_onto_an_empty_database(empty: Empty) -> None:
    planned = cli("plan", str(EXAMPLE), "-d", empty.conninfo, "--json")
    assert planned.returncode == 1, planned.stderr  # drift: both jobs to create
    plan = json.loads(planned.stdout)
    assert plan["drift"] is True and plan["errors"] == []
    assert [(i["action"], i["name"]) for i in plan["items"]] == [
        ("create", "weekly-adapter-check"), ("create", "daily-usage-rollup")]
    weekly = plan["items"][0]
    assert weekly["description"] and weekly["next_run"].endswith("+00:00")
    assert empty.jobs() == {}  # plan writes nothing

    applied = cli("apply", str(EXAMPLE), "--yes", "-d", empty.conninfo)
    assert applied.returncode == 0, applied.stderr
    assert "Applied 2 change(s)" in applied.stdout
    jobs = empty.jobs()
    assert jobs["daily-usage-rollup"] == ("5 0 * * *", "SELECT public.rollup_daily_usage()",
                                          "postgres", "postgres", True)
    assert "service_role_key" in str(jobs["weekly-adapter-check"][1])

    again = cli("plan", str(EXAMPLE), "-d", empty.conninfo)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "No changes" in again.stdout
    nothing = cli("apply", str(EXAMPLE), "-d", empty.conninfo)  # no drift: nothing asked
    assert nothing.returncode == 0 and "No changes" in nothing.stdout


# -- drift of each kind --------------------------------------------------------------

def test_drift_of_each_kind(empty: Empty, tmp_path: Path) -> None:
    empty.sql("select cron.schedule('changed', '0 0 31 2 *', 'select 1')")
    empty.sql("select cron.schedule('to-pause', '0 0 31 2 *', 'select 1')")
    empty.sql("select cron.schedule('to-resume', '0 0 31 2 *', 'select 1')")
    empty.sql("select cron.alter_job(jobid, active := false) from cron.job "
              "where jobname = 'to-resume'")
    empty.sql("select cron.schedule('same', '0 0 31 2 *', 'select 1')")
    empty.sql("select cron.schedule('not-in-file', '0 0 31 2 *', 'select 1')")
    path = write(tmp_path, job("changed", "*/5 * * * *", "select 2") + job("to-pause", active=False)
                 + job("to-resume") + job("same") + job("new-one", "@daily"))
    done = cli("plan", str(path), "-d", empty.conninfo, "--json")
    assert done.returncode == 1, done.stderr
    plan = json.loads(done.stdout)
    items = {i["name"]: i for i in plan["items"]}
    assert {n: i["action"] for n, i in items.items()} == {
        "changed": "change", "to-pause": "pause", "to-resume": "resume", "new-one": "create"}
    assert items["changed"]["fields"] == ["schedule", "command"]
    assert items["changed"]["before"]["schedule"] == "0 0 31 2 *"
    assert items["changed"]["description"] == "every 5 minutes"
    assert items["to-pause"]["next_run"] is None
    assert plan["unchanged"] == ["same"]
    assert [u["name"] for u in plan["unmanaged"]] == ["not-in-file"]

    human = cli("plan", str(path), "-d", empty.conninfo)
    assert "~ change changed (user postgres): schedule, command" in human.stdout
    assert "0 0 31 2 * → */5 * * * *" in human.stdout
    assert "--prune deletes them" in human.stdout

    assert cli("apply", str(path), "--yes", "-d", empty.conninfo).returncode == 0
    jobs = empty.jobs()
    assert jobs["changed"][:2] == ("*/5 * * * *", "select 2")
    assert jobs["to-pause"][-1] is False and jobs["to-resume"][-1] is True
    assert "new-one" in jobs and "not-in-file" in jobs  # not in the file: left alone
    assert cli("plan", str(path), "-d", empty.conninfo).returncode == 0


def test_prune_deletes_only_when_asked(empty: Empty, tmp_path: Path) -> None:
    empty.sql("select cron.schedule('keep', '0 0 31 2 *', 'select 1')")
    empty.sql("select cron.schedule('stray', '0 0 31 2 *', 'select 1')")
    path = write(tmp_path, job("keep"))
    assert cli("plan", str(path), "-d", empty.conninfo).returncode == 0  # not drift
    pruned = cli("plan", str(path), "-d", empty.conninfo, "--prune", "--json")
    assert pruned.returncode == 1
    assert [(i["action"], i["name"]) for i in json.loads(pruned.stdout)["items"]] == [
        ("delete", "stray")]
    assert cli("apply", str(path), "--yes", "-d", empty.conninfo).returncode == 0
    assert set(empty.jobs()) == {"keep", "stray"}
    assert cli("apply", str(path), "--yes", "--prune", "-d", empty.conninfo).returncode == 0
    assert set(empty.jobs()) == {"keep"}


def test_confirmation_declined_writes_nothing(empty: Empty) -> None:
    done = cli("apply", str(EXAMPLE), "-d", empty.conninfo, stdin="y\n")  # no tty: refused
    assert done.returncode == 2 and "--yes" in done.stderr
    assert empty.jobs() == {}


def test_read_only_apply_refused(empty: Empty) -> None:
    done = cli("apply", str(EXAMPLE), "--yes", "--read-only", "-d", empty.conninfo)
    assert done.returncode == 2 and "read-only" in done.stderr
    assert empty.jobs() == {}


# -- refusals: nothing written ---------------------------------------------------------

def test_bad_schedule_refused_by_the_server(empty: Empty, tmp_path: Path) -> None:
    path = write(tmp_path, job("fine", "@daily") + job("broken", "0 25 * * *"))
    planned = cli("plan", str(path), "-d", empty.conninfo)
    assert planned.returncode == 2
    assert "job 'broken': the server refuses the schedule: invalid schedule: 0 25 * * *" \
        in planned.stdout
    applied = cli("apply", str(path), "--yes", "-d", empty.conninfo)
    assert applied.returncode == 2 and "nothing was written" in applied.stderr
    assert empty.jobs() == {}


async def test_apply_is_one_transaction(empty: Empty, tmp_path: Path) -> None:
    """The server's own refusal in the middle of apply leaves nothing behind."""
    from tui.db import ConnectOptions, Database, DatabaseError
    from tui.plan import apply, make_plan

    path = write(tmp_path, job("first", "@daily") + job("second", "@hourly")
                 + job("third", "@weekly"))
    db = Database(ConnectOptions(dbname=empty.conninfo))
    try:
        plan = await make_plan(db, jobs_file.load(path))
        assert [i.action for i in plan.items] == ["create"] * 3
        # Between plan and apply, someone makes "third" exist: apply must refuse it all.
        empty.sql("select cron.schedule('third', '@weekly', 'select 1')")
        with pytest.raises(DatabaseError, match="changed since the plan.*nothing was written"):
            await apply(db, plan)
        assert set(empty.jobs()) == {"third"}
        # A schedule the server refuses only at write time (we bypass the plan's check).
        empty.clear()
        plan = await make_plan(db, jobs_file.load(path), validate=False)
        object.__setattr__(plan.items[2], "schedule", "5/15 * * * *")
        with pytest.raises(DatabaseError, match="refuses these schedules.*third"):
            await apply(db, plan)
        assert empty.jobs() == {}
    finally:
        await db.close()


def test_secrets_masked_in_plan_output(empty: Empty, tmp_path: Path) -> None:
    command = f"select f('https://x.example', jsonb_build_object('apikey', '{SECRET}'))"
    path = write(tmp_path, job("leaky", "@daily", command))
    for extra in ((), ("--json",)):
        done = cli("plan", str(path), "-d", empty.conninfo, *extra)
        assert done.returncode == 1
        assert SECRET not in done.stdout and SECRET not in done.stderr
        shown = json.loads(done.stdout)["items"][0]["command"] if extra else done.stdout
        assert MASK in shown
    applied = cli("apply", str(path), "--yes", "-d", empty.conninfo)
    assert applied.returncode == 0 and SECRET not in applied.stdout
    empty.sql("update cron.job set command = replace(command, 'x.example', 'y.example')")
    changed = cli("plan", str(path), "-d", empty.conninfo)
    assert "command was:" in changed.stdout and SECRET not in changed.stdout


# -- the file itself --------------------------------------------------------------------

@pytest.mark.parametrize(("body", "message"), [
    ('[[job]]\nschedule = "@daily"\ncommand = "select 1"\n', "job #1: name is missing"),
    ('[[job]]\nname = "a"\ncommand = "select 1"\n', "job 'a' (#1): schedule is missing"),
    ('[[job]]\nname = "a"\nschedule = "@daily"\ncommand = ""\n', "job 'a' (#1): command is "
     "empty"),
    ('[[job]]\nname = "a"\nschedule = "@daily"\ncommand = "x"\nactive = "no"\n',
     "active must be true or false"),
    ('[[job]]\nname = "a"\nschedule = "@daily"\ncommand = "x"\nusername = "b"\n',
     "unknown key(s) username"),
    ('[[job]]\nname = "a"\nschedule = "@daily"\ncommand = "x"\n' * 2, "declared twice"),
    ('[jobs]\nname = "a"\n', "unknown top-level key(s) jobs"),
    ('[[job]\n', "not valid TOML"),
])
def test_bad_files_named_clearly(tmp_path: Path, body: str, message: str) -> None:
    path = write(tmp_path, body)
    with pytest.raises(JobsFileError) as caught:
        jobs_file.load(path)
    assert str(caught.value).startswith(str(path)) and message in str(caught.value)


def test_bad_file_exits_2_without_connecting(tmp_path: Path) -> None:
    path = write(tmp_path, '[[job]]\nname = "a"\n')
    done = cli("plan", str(path), "-d", "host=127.0.0.1 port=1")
    assert done.returncode == 2 and str(path) in done.stderr and "schedule is missing" \
        in done.stderr
