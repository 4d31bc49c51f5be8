"""HTTP jobs: parsing pg_net calls, evaluating them in the job's database, sending them with
httpx to real local servers (plain and TLS), pg_net's answers, and `cronjobs-tui http`."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from tests.conftest import FUNCTIONS_URL, Cluster
from tui import http_jobs as http
from tui.db import ConnectOptions, Database, DatabaseError
from tui.db.actions import get_job
from tui.lab import seed
from tui.lab.demo_http import AdapterHealth
from tui.masking import MASK
from tui.models import Job

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2VjcmV0LXNpZ25hdHVyZS12YWx1ZQ"


# -- a real local HTTP server ----------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        return

    def _send(self, status: int, body: bytes, ctype: str = "application/json",
              extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        try:
            self.wfile.write(body)
        except BrokenPipeError:  # the client gave up (the timeout test)
            pass

    def _route(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        sent = self.rfile.read(length).decode() if length else ""
        path = self.path.split("?", 1)[0]
        if path == "/ok":
            self._send(200, json.dumps({"status": "ok", "adapters": ["a", "b"]}).encode())
        elif path == "/echo":  # a careless server that repeats the credentials it got
            self._send(200, json.dumps({
                "authorization": self.headers.get("Authorization"), "body": sent,
                "query": self.path}).encode(),
                extra={"Set-Cookie": f"session={TOKEN}", "X-Seen": "yes"})
        elif path == "/fail":
            self._send(500, b'{"error": "adapter store unreachable"}')
        elif path == "/slow":
            time.sleep(3)
            self._send(200, b"{}")
        elif path == "/redirect":
            self._send(302, b"", extra={"Location": "https://elsewhere.example/ok"})
        elif path == "/large":
            self._send(200, b"x" * (1024 * 1024), ctype="text/plain")
        elif path == "/hostile":
            self._send(200, "\x1b[2Jcleared\u202egnp.exe".encode(), ctype="text/plain")
        else:
            self._send(404, b"{}")

    do_GET = do_POST = _route  # noqa: N815


def _serve(server: ThreadingHTTPServer) -> Iterator[str]:
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]  # type: ignore[misc]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """The base URL of a plain HTTP server on 127.0.0.1."""
    for port in _serve(ThreadingHTTPServer(("127.0.0.1", 0), Handler)):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An HTTPS server with a self-signed certificate made now with the openssl CLI."""
    if shutil.which("openssl") is None:
        pytest.skip("neither the openssl CLI nor the cryptography package is available")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    for port in _serve(httpd):
        yield f"https://127.0.0.1:{port}", cert


def request(url: str, *, method: str = "POST", timeout_ms: int = 5000,
            headers: dict[str, str] | None = None) -> http.Request:
    return http.Request(method=method, url=url, headers=headers or {
        "Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        body={"source": "pg_cron"}, params={}, timeout_ms=timeout_ms, source="test")


def dumped(result: http.HttpResult) -> str:
    return json.dumps(result.as_json()) + repr(result) + "\n".join(result.request.lines())


# -- sending --------------------------------------------------------------------------------

async def test_200_with_a_json_body(server: str) -> None:
    result = await http.send(request(f"{server}/ok"))
    assert result.ok and result.status == 200 and result.reason == "OK"
    assert json.loads(result.body) == {"status": "ok", "adapters": ["a", "b"]}
    assert result.latency_ms is not None and result.latency_ms > 0
    assert ("content-type", "application/json") in result.headers
    assert result.error is None and not result.truncated
    assert ("Authorization", f"Bearer {MASK}") in result.request.headers
    assert TOKEN not in dumped(result)


async def test_500_is_an_answer_not_an_error(server: str) -> None:
    result = await http.send(request(f"{server}/fail"))
    assert result.status == 500 and not result.ok and result.error is None
    assert "adapter store unreachable" in result.body
    assert result.summary().startswith("500 Internal Server Error in ")


async def test_timeout(server: str) -> None:
    result = await http.send(request(f"{server}/slow", timeout_ms=300))
    assert result.error_kind == "timeout" and result.status is None
    assert "within 0.3 s" in (result.error or "")


async def test_connection_refused() -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = await http.send(request(f"http://127.0.0.1:{port}/ok"))
    assert result.error_kind == "refused", result.error
    assert result.error == f"connection refused: nothing accepts connections at 127.0.0.1:{port}"


async def test_a_redirect_is_reported_not_followed(server: str) -> None:
    result = await http.send(request(f"{server}/redirect"))
    assert result.status == 302 and result.redirect
    assert result.location == "https://elsewhere.example/ok"
    assert "redirect to https://elsewhere.example/ok, not followed" in result.summary()


async def test_a_large_body_is_cut(server: str) -> None:
    result = await http.send(request(f"{server}/large"))
    assert result.status == 200 and result.truncated
    assert result.body_bytes == http.MAX_BODY == len(result.body)


async def test_hostile_bodies_are_inert(server: str) -> None:
    result = await http.send(request(f"{server}/hostile"))
    assert "\x1b" not in result.body and "\u202e" not in result.body
    assert "\\x1b[2Jcleared\\u202egnp.exe" == result.body


async def test_credentials_echoed_back_stay_masked(server: str) -> None:
    req = request(f"{server}/echo?api_key=qwertyuiop123&x=1")
    result = await http.send(req)
    assert result.status == 200
    text = dumped(result)
    assert TOKEN not in text and "qwertyuiop123" not in text
    assert ("set-cookie", MASK) in result.headers and ("x-seen", "yes") in result.headers
    assert result.request.url.startswith(f"{server}/echo?api_key=")


async def test_a_self_signed_certificate_is_refused(tls_server: tuple[str, Path]) -> None:
    url, cert = tls_server
    result = await http.send(request(f"{url}/ok"))
    assert result.error_kind == "tls" and result.status is None
    assert "certificate" in (result.error or "") and "TLS verification is on" in result.error
    # The server itself is fine: trusting its certificate explicitly gets the answer.
    trusted = await http.send(request(f"{url}/ok"), verify=ssl.create_default_context(
        cafile=str(cert)))
    assert trusted.status == 200


async def test_the_demo_adapter_health() -> None:
    with AdapterHealth("the-demo-key-123") as fn:
        url = f"{fn.functions_url}/adapter-health"
        good = await http.send(request(url, headers={"Authorization": "Bearer the-demo-key-123"}))
        assert good.status == 200 and json.loads(good.body)["status"] == "ok"
        assert json.loads(good.body)["adapters"]
        missing = await http.send(request(url, headers={}))
        assert missing.status == 401
        wrong = await http.send(request(url, headers={"Authorization": "Bearer nope"}))
        assert wrong.status == 401


# -- parsing --------------------------------------------------------------------------------

def test_the_seeds_command() -> None:
    command = seed.weekly_command(None, "https://p.supabase.co/functions/v1",  # type: ignore[arg-type]
                                  TOKEN)
    call = http.parse_call(command)
    assert call is not None and call.method == "POST" and call.timeout_ms == 5000
    view = call.view()
    assert view.url == "https://p.supabase.co/functions/v1/adapter-health"
    assert view.headers == [("Content-Type", "application/json"),
                            ("Authorization", f"Bearer {MASK}")]
    assert json.loads(view.body or "") == {"source": "pg_cron", "check": "adapters"}
    assert TOKEN not in repr(view) and TOKEN not in repr(call.view().as_json())


@pytest.mark.parametrize("command, method, url, headers, body, timeout", [
    ("select net.http_post(url := 'https://a/f', body := '{\"a\": 1}'::jsonb)",
     "POST", "https://a/f", [("Content-Type", "application/json")], '{"a": 1}', 5000),
    ("SELECT net.http_post('https://a/f', '{\"a\": 1}'::jsonb, '{}'::jsonb, "
     "'{\"Authorization\": \"Bearer sekrit-token-123456\"}'::jsonb, 2000);",
     "POST", "https://a/f", [("Authorization", f"Bearer {MASK}")], '{"a": 1}', 2000),
    ("select net.http_get(url => $$https://a/g?api_key=abc123456$$, "
     "headers => $h${\"X-Api-Key\": \"zzzzzzzz\"}$h$::jsonb)",
     "GET", f"https://a/g?api_key={MASK}", [("X-Api-Key", MASK)], None, 5000),
    ("DO $do$ begin perform net.http_post(url:='https://a/y', headers:=jsonb_build_object("
     "'apikey', (select decrypted_secret from vault.decrypted_secrets where name = 'anon'))); "
     "end $do$", "POST", "https://a/y", [("apikey", "{vault secret 'anon'}")], "{}", 5000),
    ("select net.http_post(url:=(select decrypted_secret from vault.decrypted_secrets where "
     "name='project_url') || '/functions/v1/f', body:='{}', timeout_milliseconds:=1000)",
     "POST", "{SQL: (select decrypted_secret from vault.decrypted_secrets where "
     "name='project_url') || '/functions/v1/f'}", [("Content-Type", "application/json")],
     "{}", 1000),
    ("select \"net\".\"http_get\"('https://a/h', timeout_milliseconds => 750)",
     "GET", "https://a/h", [], None, 750),
])
def test_parsing(command: str, method: str, url: str, headers: list[tuple[str, str]],
                 body: str | None, timeout: int) -> None:
    call = http.parse_call(command)
    assert call is not None
    view = call.view()
    assert (view.method, view.url, view.headers, view.body, view.timeout_ms) == (
        method, url, headers, body, timeout)


@pytest.mark.parametrize("command", [
    "select 1", "select 'net.http_post(url := 1)'", "-- net.http_post('x')\nselect 1",
    "select mynet.http_post('x')", None, "",
])
def test_not_http_jobs(command: str | None) -> None:
    assert http.parse_call(command) is None


# -- evaluation in the job's database --------------------------------------------------------

@pytest.fixture
async def db(cluster: Cluster) -> Database:
    database = Database(ConnectOptions(dbname=cluster.conninfo))
    yield database
    await database.close()


def schedule(cluster: Cluster, command: str, *, username: str | None = None) -> int:
    name = f"http-{uuid.uuid4().hex[:8]}"
    if username is None:
        return cluster.value("select cron.schedule(%s, '0 0 31 2 *', %s)", [name, command])
    return cluster.value("select cron.schedule_in_database(%s, '0 0 31 2 *', %s, "
                         "current_database(), %s)", [name, command, username])


async def test_the_seeds_job_resolves_and_its_key_stays_hidden(
        cluster: Cluster, db: Database) -> None:
    jobid = cluster.value("select jobid from cron.job where jobname = %s", [seed.WEEKLY])
    job = await get_job(db, jobid)
    req = await http.evaluate(db, job)
    assert req.url == f"{FUNCTIONS_URL}/adapter-health"
    assert req.headers["Authorization"] == f"Bearer {cluster.service_key}"
    assert req.body == {"source": "pg_cron", "check": "adapters"} and req.timeout_ms == 5000
    assert req.source == f"evaluated in database {job.database} as {job.username}"
    view = req.view()
    shown = repr(req) + repr(view) + "\n".join(view.lines()) + json.dumps(view.as_json())
    assert cluster.service_key not in shown
    assert ("Authorization", f"Bearer {MASK}") in view.headers
    # Port 9 (discard) refuses: the answer says so, without the key.
    result = await http.send(req)
    assert result.error_kind in ("refused", "timeout") and cluster.service_key not in dumped(
        result)


async def test_a_job_calling_our_server_with_vault_values(
        cluster: Cluster, db: Database, server: str) -> None:
    """A stand-in `vault.decrypted_secrets` (a plain table): values from it are secrets."""
    cluster.sql("create schema if not exists vault; create table if not exists "
                "vault.decrypted_secrets (name text primary key, decrypted_secret text)")
    secret = f"vaulted-{uuid.uuid4().hex}"
    cluster.sql("insert into vault.decrypted_secrets values ('url', %s), ('key', %s) "
                "on conflict (name) do update set decrypted_secret = excluded.decrypted_secret",
                [f"{server}/echo", secret])
    command = ("select net.http_post(url := (select decrypted_secret from "
               "vault.decrypted_secrets where name = 'url'), headers := jsonb_build_object("
               "'X-Custom', (select decrypted_secret from vault.decrypted_secrets where "
               "name = 'key')), body := jsonb_build_object('n', 1), "
               "timeout_milliseconds := 1500 -- a trailing comment\n) as request_id")
    jobid = schedule(cluster, command)
    try:
        req = await http.evaluate(db, await get_job(db, jobid))
        assert req.url == f"{server}/echo" and req.headers == {"X-Custom": secret}
        assert req.timeout_ms == 1500
        assert ("X-Custom", "{vault secret 'key'}") in http.parse_call(command).view().headers
        result = await http.send(req)
        assert result.status == 200 and '"n": 1' in json.loads(result.body)["body"]
        assert secret not in dumped(result) and secret not in repr(req.view())
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])
        cluster.sql("drop schema vault cascade")


async def test_evaluation_is_read_only(cluster: Cluster, db: Database) -> None:
    cluster.sql("create sequence if not exists http_probe_seq")
    before = cluster.value("select last_value from http_probe_seq")
    jobid = schedule(cluster, "select net.http_get('http://127.0.0.1:9/' || "
                              "nextval('http_probe_seq'))")
    try:
        with pytest.raises(DatabaseError, match="read-only transaction"):
            await http.evaluate(db, await get_job(db, jobid))
        assert cluster.value("select last_value from http_probe_seq") == before
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])
        cluster.sql("drop sequence http_probe_seq")


async def test_evaluated_as_the_jobs_role(cluster: Cluster, db: Database) -> None:
    role = f"http_role_{uuid.uuid4().hex[:6]}"
    cluster.sql(f'create role "{role}" login')  # pg_cron schedules only for LOGIN roles
    jobid = schedule(cluster, "select net.http_get('http://h/' || current_user)", username=role)
    cluster.sql(f'alter role "{role}" nologin')
    try:
        job = await get_job(db, jobid)
        with pytest.raises(http.NeedsConfirmation) as refused:
            await http.evaluate(db, job)
        assert refused.value.can_set_role and role in str(refused.value)
        req = await http.evaluate(db, job, as_self=True)  # superuser: SET ROLE
        assert req.url == f"http://h/{role}" and "via SET ROLE" in req.source
        # Over TCP the sandbox wants a password of every role: the operator's passfile has it.
        password = uuid.uuid4().hex
        cluster.sql(f'alter role "{role}" login password \'{password}\'')
        with cluster.sandbox.passfile.open("a") as out:
            out.write(f"127.0.0.1:*:*:{role}:{password}\n")
        req = await http.evaluate(db, job)  # logs in as the role, as pg_cron does
        assert req.url == f"http://h/{role}" and req.source.endswith(f"as {role}")
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])
        cluster.sql(f'drop role "{role}"')


# -- pg_net's answers -----------------------------------------------------------------------

async def test_pg_net_absent_is_said_plainly(cluster: Cluster, db: Database) -> None:
    job = await get_job(db, cluster.value("select jobid from cron.job where jobname = %s",
                                          [seed.WEEKLY]))
    facts = await db.facts()
    state = await http.job_pg_net_state(db, job, current_database=facts.database)
    assert not state.installed and state.note == http.PG_NET_MISSING
    assert 'schema "net" does not exist' in state.note and "Supabase" in state.note


async def test_pg_net_answers_from_a_stand_in_table(cluster: Cluster, db: Database) -> None:
    """pg_net is not packaged by Debian: a `net._http_response` table of pg_net's shape, in a
    database of its own, stands in for the extension's."""
    name = f"netdb_{uuid.uuid4().hex[:6]}"
    cluster.sql(f"create database {name}")
    try:
        with psycopg.connect(make_conninfo(cluster.conninfo, dbname=name),
                             autocommit=True) as conn:
            conn.execute("create schema net; create table net._http_response (id bigint, "
                         "status_code int, content_type text, headers jsonb, content text, "
                         "timed_out bool, error_msg text, created timestamptz not null "
                         "default now())")
            conn.execute("insert into net._http_response (id, status_code, content, "
                         "timed_out, error_msg, created) values "
                         "(1, 200, %s, false, null, now() - interval '1 hour'), "
                         "(2, null, null, true, 'Timeout of 5000 ms reached', now()), "
                         "(3, 401, 'bad key', false, null, now())",
                         [f'{{"seen": "Bearer {TOKEN}"}}'])
        job = Job(jobid=0, jobname="x", schedule="* * * * *", command="select 1",
                  database=name, username="postgres", active=True)
        state = await http.job_pg_net_state(db, job, current_database="postgres")
        assert state.installed and state.version is None
        assert [r.id for r in state.responses] == [3, 2, 1]
        assert state.responses[1].timed_out and "Timeout" in (state.responses[1].error or "")
        assert TOKEN not in repr(state)
        assert "matched by time only" in state.note
        recent = await http.job_pg_net_state(
            db, job, current_database="postgres",
            since=cluster.value("select now() - interval '1 minute'"))
        assert [r.id for r in recent.responses] == [3, 2]
    finally:
        cluster.sql(f"drop database {name} with (force)")


# -- the subcommand -------------------------------------------------------------------------

def cli(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tui", "http", "-d", cluster.conninfo, *args],
                          capture_output=True, text=True, timeout=60, env=env, cwd=ROOT)


def test_cli_sends_and_masks(cluster: Cluster, server: str) -> None:
    with psycopg.connect(cluster.conninfo) as conn:
        command = seed.weekly_command(conn, f"{server}/x", cluster.service_key)
    command = command.replace("/x/adapter-health", "/echo")
    jobid = schedule(cluster, command)
    try:
        done = cli(cluster, f"#{jobid}", "--json")
        assert done.returncode == 0, done.stderr
        out = json.loads(done.stdout)
        assert out["jobid"] == jobid and out["status"] == 200 and out["ok"]
        assert out["request"]["headers"]["Authorization"] == f"Bearer {MASK}"
        assert MASK in json.loads(out["body"])["authorization"]  # echoed back, cut out
        assert cluster.service_key not in done.stdout + done.stderr
        human = cli(cluster, f"#{jobid}")
        assert human.returncode == 0 and "< 200 OK in " in human.stdout
        assert cluster.service_key not in human.stdout + human.stderr
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])


def test_cli_on_the_seeds_job_and_refusals(cluster: Cluster) -> None:
    done = cli(cluster, seed.WEEKLY, "--json")
    assert done.returncode == 1, done.stderr  # port 9: nothing answers
    out = json.loads(done.stdout)
    assert out["error_kind"] in ("refused", "timeout") and out["status"] is None
    assert cluster.service_key not in done.stdout + done.stderr
    not_http = cli(cluster, seed.DAILY)
    assert not_http.returncode == 2 and "makes no HTTP call" in not_http.stderr
    read_only = cli(cluster, seed.WEEKLY, "--read-only")
    assert read_only.returncode == 2 and "read-only" in read_only.stderr


# -- the screens ----------------------------------------------------------------------------

async def test_detail_and_send_on_screen(cluster: Cluster, server: str) -> None:
    from textual.widgets import Static

    from tests.ui.conftest import running_app, select_job, wait_for
    from tui.ui.screens.detail import JobDetailScreen
    from tui.ui.screens.http import HttpScreen

    with psycopg.connect(cluster.conninfo) as conn:
        command = seed.weekly_command(conn, f"{server}/x", cluster.service_key)
    jobid = schedule(cluster, command.replace("/x/adapter-health", "/ok"))
    name = cluster.value("select jobname from cron.job where jobid = %s", [jobid])
    try:
        async with running_app(cluster) as (app, pilot):
            await select_job(app, pilot, name)
            await pilot.press("enter")
            await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
            panel = app.screen.query_one("#command-text", Static)

            def shown() -> str:  # the request laid out and the pg_net line, as text
                return "\n".join(str(part) for part in panel.content.renderables[:3])

            await wait_for(pilot, lambda: "pg_net is not installed" in shown())
            assert f"POST {server}/ok" in shown() and f"Bearer {MASK}" in shown()
            assert cluster.service_key not in shown()
            await pilot.press("h")
            await wait_for(pilot, lambda: isinstance(app.screen, HttpScreen))
            await pilot.press("tab", "enter")  # Close has the focus; Tab reaches Send
            screen = app.screen
            await wait_for(pilot, lambda: screen.result is not None)
            assert screen.result.status == 200
            answer = str(screen.query_one("#http-answer", Static).content)
            assert "200 OK" in answer and cluster.service_key not in answer
            await pilot.press("escape")
        async with running_app(cluster, read_only=True) as (app, pilot):
            await select_job(app, pilot, name)
            assert "send_http" not in {b.action for b in app.main.active_bindings_list()}
            await pilot.press("h")
            await pilot.pause(0.2)
            assert app.screen is app.main
    finally:
        cluster.sql("select cron.unschedule(%s)", [jobid])
