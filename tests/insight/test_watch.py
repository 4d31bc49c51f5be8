"""`watch` against a real server and real receivers on 127.0.0.1: a problem is one episode
(one firing, one resolved per receiver), a pass is bounded by its deadline whatever the
receivers do, bad receivers are refused at start, `/metrics` read back with prometheus-client's
parser."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import Cluster
from tests.insight.receivers import Receiver, Silent, one_pass, refusing_url, watch_for
from tests.insight.test_explain import insert_run
from tui.insight.deliver import Webhook
from tui.insight.episodes import Change, Episode
from tui.insight.metrics import Metrics
from tui.insight.observe import Cursor
from tui.insight.watch import State
from tui.lab.sandbox import free_port

SECRET = "Zq8vTt3pLw1x"
#: Never fires by itself while a test runs: the tests write its runs.
LEDGER = ("ledger-close", "0 3 1 1 *", "CALL ledger.close_period()")
MIRROR = (f"mirror to postgresql://replicator:{SECRET}@10.0.0.5/app", "41 2 * * *", "SELECT 1")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def only(c: Cluster, *jobs: tuple[str, str, str]) -> dict[str, int]:
    """This test's jobs alone on the server (the seed's 00:05 job is rightly missed after
    midnight on a server started just before)."""
    c.sql("select cron.unschedule(jobid) from cron.job")
    return {j[0]: c.value("select cron.schedule(%s, %s, %s)", list(j)) for j in jobs}


def hooks(r: Receiver) -> list[Any]:
    return [Webhook(r.url("/slack"), "slack"), Webhook(r.url("/generic"), "generic")]


async def test_failing_every_minute_for_an_hour_is_one_firing_and_one_resolved(
        fresh_cluster: Cluster, receiver: Receiver, tmp_path: Path) -> None:
    c = fresh_cluster
    ids = only(c, LEDGER, MIRROR)
    state_file = tmp_path / "watch.json"
    t0 = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)  # the watch's clock, pinned
    now = c.value("select now()")

    async def pass_at(minute: int) -> list[Change]:
        # Each pass a new watch from the state file: restarts on the way change nothing.
        state = State.load(state_file)
        result = await one_pass(watch_for(c.conninfo, state, hooks(receiver)),
                                now=t0 + timedelta(minutes=minute))
        state.save(state_file)
        return result.changes

    assert await pass_at(0) == []
    states = []
    with c.connect() as conn:
        for minute in range(60):
            start = now - timedelta(minutes=60 - minute)
            insert_run(conn, ids[LEDGER[0]], start, start + timedelta(seconds=1), "failed",
                       f"ERROR:  could not connect: postgresql://svc:{SECRET}@10.0.0.9/pay")
            states += [ch.state for ch in await pass_at(minute + 1)]
        insert_run(conn, ids[LEDGER[0]], now, now + timedelta(seconds=1), "succeeded", "CALL")
    states += [ch.state for ch in await pass_at(61)]
    assert states == ["firing", "resolved"]
    assert await pass_at(62) == []
    for path in ("/slack", "/generic"):
        assert receiver.count(path) == 2, path
    firing, resolved = receiver.bodies["/generic"]
    assert (firing["state"], resolved["state"]) == ("firing", "resolved")
    assert firing["episode"] == resolved["episode"]
    assert (firing["kind"], firing["job"], resolved["count"]) == ("failing", LEDGER[0], 60)
    assert firing["explain"] == f"cronjobs-tui --profile default explain '#{ids[LEDGER[0]]}'"
    assert "(cronjobs-tui --profile default explain" in receiver.bodies["/slack"][0]["text"]
    assert SECRET not in json.dumps(receiver.bodies)


async def test_a_first_pass_says_what_is_wrong_now_not_what_was(
        fresh_cluster: Cluster, receiver: Receiver) -> None:
    c = fresh_cluster
    ids = only(c, *[(name, "0 3 1 1 *", "SELECT 1") for name in
                    ("failing-for-hours", "recovered", "deleted-since", "failed-then-fine")])
    now = c.value("select now()")
    with c.connect() as conn:
        def run(name: str, ago: timedelta, status: str) -> None:
            insert_run(conn, ids[name], now - ago, now - ago, status, "ERROR:  boom"
                       if status == "failed" else "SELECT 1")

        run("failing-for-hours", timedelta(hours=2), "failed")
        run("recovered", timedelta(hours=2), "failed")
        run("recovered", timedelta(hours=1), "succeeded")
        run("deleted-since", timedelta(minutes=5), "failed")
        run("failed-then-fine", timedelta(minutes=10), "failed")
        run("failed-then-fine", timedelta(minutes=5), "succeeded")
    c.sql("select cron.unschedule(%s)", [ids["deleted-since"]])
    result = await one_pass(watch_for(c.conninfo, State(), hooks(receiver)))
    assert [(ch.state, ch.episode.kind, ch.episode.job) for ch in result.changes] == [
        ("firing", "failing", "failing-for-hours")]
    assert receiver.count("/slack") == receiver.count("/generic") == 1


async def test_reminders_only_past_repeat(fresh_cluster: Cluster, receiver: Receiver) -> None:
    from tui.insight.watch import Options

    c = fresh_cluster
    ids = only(c, LEDGER)
    t0 = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
    now = c.value("select now()")
    state = State()
    opts = Options(repeat=timedelta(minutes=25), deadline_s=10)
    states = []
    with c.connect() as conn:
        for minute in range(60):
            insert_run(conn, ids[LEDGER[0]], now, now, "failed", "ERROR:  division by zero")
            result = await one_pass(watch_for(c.conninfo, state, hooks(receiver), opts=opts),
                                    now=t0 + timedelta(minutes=minute))
            states += [ch.state for ch in result.changes]
    assert states == ["firing", "reminder", "reminder"]  # at 25 and 50 minutes
    assert receiver.count("/generic") == 3
    assert receiver.bodies["/generic"][1]["message"].count("25 more") == 1


async def test_once_returns_within_its_deadline(fresh_cluster: Cluster, tmp_path: Path) -> None:
    """Fifty jobs failing, one receiver that refuses connections and two (a webhook and an
    Alertmanager) that accept and never answer: `--once` returns, saying that something is
    wrong (1) and that something could not be delivered (4), and keeps it all for next time."""
    c = fresh_cluster
    c.sql("select cron.unschedule(jobid) from cron.job")
    now = c.value("select now()")
    with c.connect() as conn:
        for k in range(50):
            jobid = c.value("select cron.schedule(%s, '0 3 1 1 *', 'SELECT 1')",
                            [f"batch-{k:02d}"])
            insert_run(conn, jobid, now - timedelta(minutes=2), now, "failed", "ERROR:  boom")
    silent = Silent()
    try:
        urls = tmp_path / "webhooks.urls"
        urls.write_text(f"# the team's channel\nhttp://127.0.0.1:{silent.port}/hook\n")
        urls.chmod(0o600)
        state_file = tmp_path / "watch.json"
        argv = [sys.executable, "-m", "tui", "watch", "--once", "-d", c.conninfo,
                "--state", str(state_file), "--deadline", "2", "--webhook", refusing_url(),
                "--webhook-file", str(urls),
                "--alertmanager", f"http://127.0.0.1:{silent.port}"]
        # A bounded wait: before episodes and deadlines, this took 50 events x 4 attempts x
        # 10 s timeouts per receiver, one after another.
        done = subprocess.run(argv, capture_output=True, text=True, timeout=90, check=False)
    finally:
        silent.close()
    assert done.returncode == 1 | 4, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 50 and {d["state"] for d in lines} == {"firing"}
    saved = json.loads(state_file.read_text())
    queued = sorted(len(q) for q in saved["queues"].values())
    assert queued == [0, 50, 50]  # Alertmanager re-sends open episodes from the book
    assert len(saved["episodes"]) == 50
    said = [line for line in done.stderr.splitlines() if "not delivered" in line]
    assert len(said) == 3 and all(line.endswith("tried again next pass") for line in said)


@pytest.mark.parametrize(("argv", "says"), [
    (["--webhook", "notaurl"], "is not an http:// or https:// URL with a host"),
    (["--webhook", "file:///etc/passwd"], "is not an http:// or https:// URL with a host"),
    (["--webhook", "http://"], "is not an http:// or https:// URL with a host"),
    (["--alertmanager", "ftp://x"], "is not an http:// or https:// URL with a host"),
    (["--metrics", "127.0.0.1:99999"], "accepted: 1 to 65535"),
    (["--deadline", "nan"], "is not a number of seconds"),
    (["--repeat=-4h"], "is not a duration"),
    (["--repeat", "0m"], "out of range"),
])
def test_bad_options_are_refused_in_one_line(argv: list[str], says: str) -> None:
    dead = f"host=127.0.0.1 port={free_port()} dbname=postgres connect_timeout=2"
    done = subprocess.run([sys.executable, "-m", "tui", "watch", "--once", "-d", dead, *argv],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert says in done.stderr and "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and argv[0].split("=")[0] in errors[0], done.stderr
    assert done.stdout == ""


def test_url_files_must_be_private(tmp_path: Path) -> None:
    urls = tmp_path / "webhooks.urls"
    urls.write_text(f"https://hooks.slack.com/services/T000/B000/{SECRET}\n")
    urls.chmod(0o644)
    dead = f"host=127.0.0.1 port={free_port()} dbname=postgres connect_timeout=2"
    argv = [sys.executable, "-m", "tui", "watch", "--once", "-d", dead]
    done = subprocess.run([*argv, "--webhook-file", str(urls)], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == (f"cronjobs-tui: --webhook-file: {urls} is readable by others "
                                   f"and holds secrets: run 'chmod 600 {urls}'")
    urls.write_text("# one a line\nnot a url\n")
    urls.chmod(0o600)
    done = subprocess.run([*argv, "--alertmanager-file", str(urls)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2 and "line 2" in done.stderr and SECRET not in done.stderr


def test_print_unit_keeps_secrets_out_of_argv() -> None:
    done = subprocess.run([sys.executable, "-m", "tui", "watch", "--fleet", "--print-unit",
                           "--metrics", "127.0.0.1:9187"], capture_output=True, text=True,
                          timeout=60, check=True)
    unit = done.stdout
    joined = unit.replace(" \\\n", " ")
    exec_start = next(line for line in joined.splitlines() if line.startswith("ExecStart="))
    assert "--webhook-file ${CREDENTIALS_DIRECTORY}/webhooks" in exec_start
    assert "--alertmanager-file ${CREDENTIALS_DIRECTORY}/alertmanager" in exec_start
    assert "--webhook " not in exec_start and "http" not in exec_start
    assert "LoadCredential=webhooks:" in unit and "--fleet" in exec_start


async def test_unreachable_is_one_episode(tmp_path: Path, receiver: Receiver) -> None:
    dead = f"host=127.0.0.1 port={free_port()} dbname=postgres user=postgres connect_timeout=2"
    state = State()
    first = await one_pass(watch_for(dead, state, hooks(receiver)))
    assert [(ch.state, ch.episode.kind) for ch in first.changes] == [("firing", "unreachable")]
    assert "did not answer" in first.changes[0].message
    assert (await one_pass(watch_for(dead, state, hooks(receiver)))).changes == []
    assert receiver.count("/generic") == 1


@pytest.mark.smoke  # watch --metrics
async def test_metrics_are_the_last_pass(fresh_cluster: Cluster) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    c = fresh_cluster
    weekly = ("weekly-adapter-check", "0 3 * * SUN", "SELECT 1")
    ids = only(c, LEDGER, MIRROR, weekly)
    now = c.value("select now()")
    with c.connect() as conn:
        # Started 12 s after the time its schedule gave.
        slot = now.replace(hour=2, minute=41, second=0, microsecond=0) - timedelta(days=1)
        insert_run(conn, ids[MIRROR[0]], slot + timedelta(seconds=12),
                   slot + timedelta(seconds=14), "succeeded", "1 row")
        insert_run(conn, ids[LEDGER[0]], now - timedelta(minutes=1),
                   now - timedelta(seconds=50), "failed", "ERROR:  division by zero")
    state = State()
    # A first pass looks back a quarter of an hour for runs: take these in from their runid.
    state.cursors["prod"] = Cursor(last_runid=c.value(
        "select min(runid) from cron.job_run_details where jobid = any(%s)",
        [list(ids.values())]) - 1)
    metrics = Metrics()
    port = free_port()
    server, _thread = metrics.serve("127.0.0.1", port)
    try:
        watch = watch_for(c.conninfo, state, [], profile="prod")
        watch.metrics = metrics
        await one_pass(watch)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        c.sql("select cron.unschedule(%s)", [ids[MIRROR[0]]])
        # A scrape never queries: the job unscheduled since is still there until a pass.
        assert text == httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        server.shutdown()
    samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    base = (("database", "postgres"), ("profile", "prod"))
    assert samples[("pgcron_scheduler_up", base)] == 1
    assert samples[("pgcron_database_up", (("profile", "prod"),))] == 1
    rec = (*base[:1], ("jobname", LEDGER[0]), base[1])
    assert samples[("pgcron_job_runs_total", (*rec, ("status", "failed")))] == 1
    assert samples[("pgcron_job_last_run_status", rec)] == 0
    lags = [labels for (name, labels) in samples if name == "pgcron_job_start_lag_seconds"]
    assert len(lags) == 1 and SECRET not in text
    assert samples[("pgcron_job_start_lag_seconds", lags[0])] == pytest.approx(12)
    # The weekly job: its previous Sunday 03:00 and the next, seven days apart.
    wk = (*base[:1], ("jobname", weekly[0]), base[1])
    prev = samples[("pgcron_job_previous_fire_timestamp_seconds", wk)]
    nxt = samples[("pgcron_job_next_fire_timestamp_seconds", wk)]
    assert nxt - prev == 7 * 86400
    when = datetime.fromtimestamp(prev, timezone.utc)
    assert (when.weekday(), when.hour, when.minute) == (6, 3, 0)
    assert prev <= now.timestamp() < nxt
    # Never run: owed from the first time after this watch first saw it.
    assert samples[("pgcron_job_due_timestamp_seconds", wk)] == nxt
    assert samples[("pgcron_job_active", wk)] == 1


@pytest.fixture
def with_pg_net(cluster: Cluster) -> Iterator[Cluster]:
    from tests.conftest import start_cluster

    if not cluster.sandbox.install.has_extension("pg_net"):
        pytest.skip("pg_net is not built here (.ci/setup builds it from ../shared/vendor)")
    c = start_cluster(cluster.sandbox.install, shared_preload_libraries="'pg_cron,pg_net'")
    c.sql("create extension if not exists pg_net")
    yield c
    c.sandbox.destroy()


def _response(c: Cluster, status: int | None, content: str, *, age: timedelta,
              timed_out: bool = False, error: str | None = None) -> int:
    rid = c.value("select coalesce(max(id), 0) + 1 from net._http_response")
    c.sql("insert into net._http_response (id, status_code, content_type, headers, content, "
          "timed_out, error_msg, created) values (%s, %s, 'application/json', "
          "'{\"server\": \"deno\"}', %s, %s, %s, now() - %s)",
          [rid, status, content, timed_out, error, age])
    return rid


async def test_http_errors_are_one_episode(with_pg_net: Cluster, receiver: Receiver) -> None:
    c = with_pg_net
    state = State()

    async def http_changes() -> list[tuple[str, str]]:
        result = await one_pass(watch_for(c.conninfo, state, hooks(receiver)))
        return [(ch.state, ch.message) for ch in result.changes
                if ch.episode.kind == "http_error"]

    _response(c, 500, '{"error": "stale"}', age=timedelta(hours=1))  # before a first look
    _response(c, 401, json.dumps({"msg": "Invalid JWT", "token": f"eyJhbGciOiJIUzI1NiJ9."
                                                                 f"eyJzdWIiOiJ4In0.{SECRET}"}),
              age=timedelta(minutes=2))
    slow = _response(c, None, "", age=timedelta(minutes=1), timed_out=True,
                     error="Timeout of 5000 ms reached")
    first = await http_changes()
    assert [s for s, _ in first] == ["firing"] and f"request {slow}" in first[0][1]
    assert "(2 so far)" in first[0][1]
    assert SECRET not in json.dumps(receiver.bodies)
    _response(c, 503, "upstream connect error", age=timedelta(0))
    assert await http_changes() == []  # the same episode goes on
    _response(c, 200, '{"ok": true}', age=timedelta(0))
    assert [s for s, _ in await http_changes()] == ["resolved"]


def test_unreadable_state_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    state.write_text('{"version": 2, "cursors": {"default": {"last_runid": 4')  # a full disk
    dead = f"host=127.0.0.1 port={free_port()} dbname=postgres connect_timeout=2"
    done = subprocess.run([sys.executable, "-m", "tui", "watch", "--once", "--state", str(state),
                           "-d", dead], capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2
    assert "cannot be read" in done.stderr and done.stdout == ""


def test_slack_reads_no_mention_or_link_from_job_text() -> None:
    """Job names like these are ordinary text to pg_cron; in Slack they would page a channel
    or draw a link that says something else. The generic format keeps the text exact."""
    ep = Episode("e1", "failing", "prod", "7", "2026-11-29T03:00:00+00:00",
                 "ERROR: <https://evil.example|click> & more", "same", 1,
                 "2026-11-29T03:00:00+00:00", 1, job="nightly <!channel> <@U024BE7LH> report")
    change = Change("firing", "2026-11-29T03:00:00+00:00", ep,
                    "[prod] nightly <!channel> <@U024BE7LH> report: failing: ERROR: "
                    "<https://evil.example|click> & more")
    text = Webhook("http://127.0.0.1:9/hook").body(change)["text"]
    assert "<" not in text and ">" not in text
    assert "&lt;!channel&gt;" in text and "&amp; more" in text
    generic = Webhook("http://127.0.0.1:9/hook", fmt="generic").body(change)
    assert generic["job"] == "nightly <!channel> <@U024BE7LH> report"


def test_help_names_what_the_readme_and_rules_name() -> None:
    from tui.insight.alertmanager import ALERTNAMES

    help_text = subprocess.run([sys.executable, "-m", "tui", "watch", "--help"],
                               capture_output=True, text=True, timeout=60, check=True).stdout
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    rules = subprocess.run([sys.executable, "-m", "tui", "watch", "--print-rules"],
                           capture_output=True, text=True, timeout=60, check=True).stdout
    for option in ("--alertmanager", "--alertmanager-file", "--webhook-file", "--repeat",
                   "--deadline", "--fleet", "--print-rules", "--print-unit", "--metrics"):
        assert option in help_text and option in readme, option
    for name in ALERTNAMES.values():
        assert name in rules and name in readme, name
    assert rules in readme  # the README shows the rules as printed, whole
    assert "exit codes with --once: 0 all well; 1 a problem is open; 4" in " ".join(
        help_text.split())


def test_the_watch_as_a_service(fresh_cluster: Cluster, receiver: Receiver,
                                tmp_path: Path) -> None:
    """Not --once: passes on its own clock, episodes out as they open, metrics served,
    the state kept; stopped as systemd stops it (SIGTERM)."""
    import select
    import signal

    c = fresh_cluster
    ids = only(c, LEDGER)
    now = c.value("select now()")
    with c.connect() as conn:
        insert_run(conn, ids[LEDGER[0]], now, now, "failed", "ERROR:  division by zero")
    urls = tmp_path / "hooks.urls"
    urls.write_text(receiver.url("/generic") + "\n")
    urls.chmod(0o600)
    state_file = tmp_path / "watch.json"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "watch", "-d", c.conninfo, "--interval", "1",
         "--state", str(state_file), "--webhook-file", str(urls), "--webhook-format",
         "generic", "--metrics", f"127.0.0.1:{port}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 60)  # a bounded wait
        assert ready, "no episode came out"
        line = json.loads(proc.stdout.readline())
        assert (line["state"], line["kind"], line["job"]) == ("firing", "failing", LEDGER[0])
        for _ in range(600):
            if receiver.count("/generic") and state_file.exists():
                break
            select.select([], [], [], 0.1)
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
        assert 'pgcron_job_last_run_status{database="postgres",jobname="ledger-close",' \
               'profile="default"} 0.0' in text
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert receiver.bodies["/generic"][0]["episode"] == line["episode"]
    saved = json.loads(state_file.read_text())
    assert list(saved["episodes"].values())[0]["id"] == line["episode"]
