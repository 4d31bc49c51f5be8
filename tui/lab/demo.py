"""`cronjobs-tui demo`: the embedded cluster with the seed's system, kept between runs, and
its adapter-health endpoint; one of each on this machine, shared by every demo
(tui/lab/demo_share.py says who stops them)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psycopg
from platformdirs import user_data_dir

from tui.config import Settings
from tui.lab import seed
from tui.lab.demo_share import Shared, SharedState, start_endpoint
from tui.lab.sandbox import Sandbox

# Where the seed's job points until the demo's own adapter-health endpoint
# (tui.lab.demo_http) starts and the job is pointed at it.
FUNCTIONS_URL = "http://127.0.0.1:54321/functions/v1"


def demo_dir() -> Path:
    """$CRONJOBS_TUI_DEMO_DIR (tests, or a demo of one's own), else the user's data dir."""
    if os.environ.get("CRONJOBS_TUI_DEMO_DIR"):
        return Path(os.environ["CRONJOBS_TUI_DEMO_DIR"])
    if os.geteuid() == 0:
        # The server runs as the postgres user, who cannot enter /root.
        return Path("/var/lib/cronjobs-tui/demo")
    return Path(user_data_dir("cronjobs-tui")) / "demo"


def sandbox() -> Sandbox:
    sb = Sandbox(datadir=demo_dir() / "data")
    if sb.install.has_extension("pg_net"):
        # pg_net (built from ../shared/vendor by .ci/build-vendor; Debian has no package) lets
        # the seed's weekly job really post to the demo's adapter-health endpoint.
        sb.settings["shared_preload_libraries"] = "'pg_cron,pg_net'"
    return sb


def start() -> Sandbox:
    sb = sandbox().start()
    sb.wait_ready()
    with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
        seed.install(conn, functions_url=FUNCTIONS_URL, demo=True)
        # Only where the running server loaded it: a demo cluster started before pg_net was
        # built keeps running without it until it is restarted.
        preloaded = conn.execute("select current_setting('shared_preload_libraries')").fetchone()
        if preloaded and "pg_net" in preloaded[0]:
            conn.execute("create extension if not exists pg_net")
        # pg_cron connects to the port stored in each job; if the old port was taken
        # and the cluster moved, point the jobs at the new one.
        conn.execute("update cron.job set nodeport = %s where nodeport <> %s", [sb.port, sb.port])
    return sb


def service_key(conn: psycopg.Connection) -> str:
    """The bearer key in the weekly job's command (the endpoint checks it), or a new one."""
    from tui.http_jobs import literal, parse_call

    row = conn.execute("select command from cron.job where jobname = %s",
                       [seed.WEEKLY]).fetchone()
    call = parse_call(row[0]) if row else None
    headers = literal(call.headers_expr) if call else None
    if isinstance(headers, dict) and isinstance(headers.get("Authorization"), str):
        auth = headers["Authorization"]
        if auth.lower().startswith("bearer ") and auth[7:]:
            return str(auth[7:])
    return seed.fake_service_key()


def point_weekly_at(conn: psycopg.Connection, functions_url: str, key: str | None = None,
                    ) -> str:
    """Point the demo's weekly job at `functions_url` with `key` (default: keeping its service
    key); returns the key (the demo's adapter-health checks it)."""
    key = key or service_key(conn)
    command = seed.weekly_command(conn, functions_url, key)
    conn.execute("select cron.alter_job(jobid, command := %s) from cron.job "
                 "where jobname = %s and command <> %s", [command, seed.WEEKLY, command])
    return key


def _start_shared(shared: Shared) -> tuple[Sandbox, bool]:
    """The cluster started (or found running) with its endpoint, the seed's job pointed at
    it, and whether this call started it; called under the shared state's lock. A cluster
    this call starts is a new one: nobody owns it yet and nobody is on it."""
    sb = sandbox()
    started = not sb.running
    if started:
        _forget(shared)
    sb = start()
    with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
        key = None
        if shared.endpoint is None or not shared.endpoint.alive():
            # The demo plays the adapter-health Edge Function, so "send now" (h) has an
            # answer, from an endpoint that lives as long as the cluster: demos share it.
            key = service_key(conn)
            shared.endpoint = start_endpoint(sb.host_datadir, key)
        point_weekly_at(conn, shared.endpoint.functions_url, key)
    return sb, started


def _forget(shared: Shared) -> None:
    """No cluster: its endpoint stopped (if one was left behind) and nobody on it."""
    if shared.endpoint is not None:
        shared.endpoint.stop()
    shared.owner, shared.kept, shared.sessions, shared.endpoint = None, False, [], None


def _stop_shared(sb: Sandbox, shared: Shared) -> None:
    _forget(shared)
    sb.stop()


def start_kept() -> Sandbox:
    """`demo --print-dsn`: the cluster started (or found running) and promised to stay up
    until `demo --stop`, whoever started it."""
    with SharedState(demo_dir()) as shared:
        sb, _ = _start_shared(shared)
        shared.kept = True
    return sb


def stop() -> int:
    with SharedState(demo_dir()) as shared:
        sb = sandbox()
        running = sb.running
        _stop_shared(sb, shared)  # without a cluster: an endpoint left by one that died
    if not running:
        print("no demo cluster is running")
        return 0
    print(f"stopped the demo cluster in {sb.datadir} and its adapter-health endpoint")
    return 0


def run_tui(settings: Settings) -> int:
    from tui.db import ConnectOptions
    from tui.ui.app import CronJobsApp

    me = os.getpid()
    with SharedState(demo_dir()) as shared:
        sb, started = _start_shared(shared)
        if started:
            shared.owner = me  # started here: stopped here, unless someone is still on it
        shared.sessions.append(me)

    def _leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    # A closed SSH session (SIGHUP) or a kill must still stop the server cleanly.
    signal.signal(signal.SIGHUP, _leave)
    signal.signal(signal.SIGTERM, _leave)
    try:
        CronJobsApp(ConnectOptions(dbname=sb.conninfo(), read_only=settings.read_only),
                    settings).run()
    finally:
        _leave_shared(sb, me)
    return 0


def _leave_shared(sb: Sandbox, me: int) -> None:
    """This demo quits: the owner stops the cluster and its endpoint, or hands the stop to
    a demo still on it; anyone else leaves them running."""
    with SharedState(demo_dir()) as shared:
        shared.sessions = [pid for pid in shared.sessions if pid != me]
        if shared.owner != me or shared.kept:
            return
        if shared.sessions:
            shared.owner = shared.sessions[0]
            return
        _stop_shared(sb, shared)
