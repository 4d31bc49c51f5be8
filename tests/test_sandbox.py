"""The embedded cluster: private, loopback-only, and the same code for demo and tests."""

from __future__ import annotations

import os

import psycopg
import pytest

from tests.conftest import Cluster
from tui.lab.sandbox import Sandbox


def test_cluster_is_private(cluster: Cluster) -> None:
    sb = cluster.sandbox
    settings = dict(cluster.sql(
        "select name, setting from pg_settings where name in ('listen_addresses', "
        "'unix_socket_directories', 'shared_preload_libraries', 'cron.database_name')"))
    assert settings == {
        "listen_addresses": "127.0.0.1",
        "unix_socket_directories": str(sb.datadir),
        "shared_preload_libraries": "pg_cron",
        "cron.database_name": "postgres",
    }
    assert (sb.host_datadir / f".s.PGSQL.{sb.port}").exists()
    assert cluster.value("select count(*) from pg_stat_activity "
                         "where backend_type = 'pg_cron launcher'") == 1


def test_restart_keeps_the_data_directory(fresh_cluster: Cluster) -> None:
    """What the demo relies on: stop, then a new Sandbox on the same directory finds it all."""
    fresh_cluster.sql("create table kept (x int); insert into kept values (7)")
    old = fresh_cluster.sandbox
    old.stop()
    assert not old.running
    again = Sandbox(datadir=old.datadir, install=old.install).start()
    again.wait_ready()
    with psycopg.connect(again.conninfo()) as conn:
        assert conn.execute("select x from kept").fetchone() == (7,)
    again.start()  # already running: reused, same port
    assert again.port == again._running_port()
    again.stop()


@pytest.mark.smoke  # demo, refused
def test_missing_binaries_give_one_clear_message() -> None:
    import subprocess
    import sys

    env = {**os.environ, "CRONJOBS_TUI_PG_BINDIR": "/nonexistent/17/bin"}
    done = subprocess.run([sys.executable, "-m", "tui", "demo", "--print-dsn"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.startswith("cronjobs-tui: CRONJOBS_TUI_PG_BINDIR=/nonexistent/17/bin")
    assert "Traceback" not in done.stderr


def test_only_the_owner_gets_in(cluster: Cluster) -> None:
    """Any local OS user reaches 127.0.0.1: without the password nobody gets in, as any role;
    the socket sits in the 0700 data directory; the password's file is the owner's alone."""
    import shutil
    import stat
    import subprocess

    import pytest

    sb = cluster.sandbox
    for role in ("postgres", "pg_signal_backend", "nobody"):
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(f"host=127.0.0.1 port={sb.port} dbname=postgres user={role} "
                            "passfile=/nonexistent connect_timeout=5")
    mode = sb.passfile.stat().st_mode
    assert stat.S_IMODE(mode) == 0o600 and sb.passfile.stat().st_uid == os.geteuid()
    assert stat.S_IMODE(sb.host_datadir.stat().st_mode) == 0o700
    if os.geteuid() == 0 and shutil.which("psql") and not sb.in_chroot:
        # As another OS user would: over TCP, then through the socket.
        for host in ("127.0.0.1", str(sb.host_datadir)):
            done = subprocess.run(
                ["runuser", "-u", "nobody", "--", "psql", "-w", "-X",
                 f"host={host} port={sb.port} dbname=postgres user=postgres", "-c", "select 1"],
                capture_output=True, text=True, timeout=30, cwd="/")
            assert done.returncode != 0 and "1 row" not in done.stdout, done
    # The owner's DSN works, as a script given `demo --print-dsn` would use it.
    with psycopg.connect(sb.uri()) as conn:
        assert conn.execute("select current_user").fetchone() == ("postgres",)
