"""`cronjobs-tui demo`: the embedded cluster with the seed's system, kept between runs."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psycopg
from platformdirs import user_data_dir

from tui import seed
from tui.config import Settings
from tui.sandbox import Sandbox

# Until the demo serves adapter-health itself, the job points at Supabase's local port.
FUNCTIONS_URL = "http://127.0.0.1:54321/functions/v1"


def demo_dir() -> Path:
    if os.geteuid() == 0:
        # The server runs as the postgres user, who cannot enter /root.
        return Path("/var/lib/cronjobs-tui/demo")
    return Path(user_data_dir("cronjobs-tui")) / "demo"


def sandbox() -> Sandbox:
    return Sandbox(datadir=demo_dir() / "data")


def start() -> Sandbox:
    sb = sandbox().start()
    sb.wait_ready()
    with psycopg.connect(sb.conninfo(), autocommit=True) as conn:
        seed.install(conn, functions_url=FUNCTIONS_URL, demo=True)
        # pg_cron connects to the port stored in each job; if the old port was taken
        # and the cluster moved, point the jobs at the new one.
        conn.execute("update cron.job set nodeport = %s where nodeport <> %s", [sb.port, sb.port])
    return sb


def stop() -> int:
    sb = sandbox()
    if not sb.running:
        print("no demo cluster is running")
        return 0
    sb.stop()
    print(f"stopped the demo cluster in {sb.datadir}")
    return 0


def run_tui(settings: Settings) -> int:
    from tui.app import CronJobsApp
    from tui.db import ConnectOptions

    sb = sandbox()
    was_running = sb.running
    sb = start()

    def _leave(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    # A closed SSH session (SIGHUP) or a kill must still stop the server cleanly.
    signal.signal(signal.SIGHUP, _leave)
    signal.signal(signal.SIGTERM, _leave)
    try:
        CronJobsApp(ConnectOptions(dbname=sb.conninfo(), read_only=settings.read_only),
                    settings).run()
    finally:
        if not was_running:
            sb.stop()
    return 0
