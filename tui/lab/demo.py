"""`cronjobs-tui demo`: the embedded cluster with the seed's system, kept between runs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psycopg
from platformdirs import user_data_dir

from tui.config import Settings
from tui.lab import seed
from tui.lab.sandbox import Sandbox

# Where the seed's job points until `run_tui` starts the demo's own adapter-health server
# (tui.lab.demo_http) and points the job at it.
FUNCTIONS_URL = "http://127.0.0.1:54321/functions/v1"


def demo_dir() -> Path:
    if os.environ.get("CRONJOBS_TUI_DEMO_DIR"):  # elsewhere (tests: a folder of their own)
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


def point_weekly_at(conn: psycopg.Connection, functions_url: str) -> str:
    """Point the demo's weekly job at `functions_url`, keeping its service key; returns the
    key (the demo's adapter-health checks it)."""
    from tui.http_jobs import literal, parse_call

    row = conn.execute("select jobid, command from cron.job where jobname = %s",
                       [seed.WEEKLY]).fetchone()
    key = None
    call = parse_call(row[1]) if row else None
    headers = literal(call.headers_expr) if call else None
    if isinstance(headers, dict) and isinstance(headers.get("Authorization"), str):
        auth = headers["Authorization"]
        key = auth[7:] if auth.lower().startswith("bearer ") else None
    key = key or seed.fake_service_key()
    command = seed.weekly_command(conn, functions_url, key)
    if row is not None and row[1] != command:
        conn.execute("select cron.alter_job(%s, command := %s)", [row[0], command])
    return key


def stop() -> int:
    sb = sandbox()
    if not sb.running:
        print("no demo cluster is running")
        return 0
    sb.stop()
    print(f"stopped the demo cluster in {sb.datadir}")
    return 0


def run_tui(settings: Settings) -> int:
    from tui.db import ConnectOptions
    from tui.lab.demo_http import AdapterHealth
    from tui.ui.app import CronJobsApp

    sb = sandbox()
    was_running = sb.running
    sb = start()
    # The demo plays the adapter-health Edge Function, so "send now" (h) has an answer.
    functions = AdapterHealth().start()
    with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
        functions.service_key = point_weekly_at(conn, functions.functions_url)

    def _leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    # A closed SSH session (SIGHUP) or a kill must still stop the server cleanly.
    signal.signal(signal.SIGHUP, _leave)
    signal.signal(signal.SIGTERM, _leave)
    try:
        CronJobsApp(ConnectOptions(dbname=sb.conninfo(), read_only=settings.read_only),
                    settings).run()
    finally:
        functions.stop()
        if not was_running:
            sb.stop()
    return 0
