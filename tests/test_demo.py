"""One demo cluster, shared safely: real `cronjobs-tui demo` processes on real terminals, in a
demo folder of their own (CRONJOBS_TUI_DEMO_DIR)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.terminal_run import Tui, wait_until
from tui.lab.demo_share import _alive
from tui.lab.sandbox import Sandbox


@pytest.fixture(scope="module")
def demo_env() -> Iterator[dict[str, str]]:
    folder = Path(tempfile.mkdtemp(prefix="cronjobs-tui-demo-"))
    env = {"CRONJOBS_TUI_DEMO_DIR": str(folder)}
    yield env
    cli("demo", "--stop", env=env)
    shutil.rmtree(folder, ignore_errors=True)


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tui", *args], capture_output=True,
                          text=True, timeout=120, env={**os.environ, **env})


def shared(env: dict[str, str]) -> dict[str, Any]:
    path = Path(env["CRONJOBS_TUI_DEMO_DIR"]) / "demo.json"
    return json.loads(path.read_text()) if path.exists() else {}


def cluster(env: dict[str, str]) -> Sandbox:
    return Sandbox(datadir=Path(env["CRONJOBS_TUI_DEMO_DIR"]) / "data")


def dsn(env: dict[str, str]) -> str:
    sb = cluster(env)
    sb.port = sb._running_port()
    return sb.conninfo()


def open_demo(env: dict[str, str]) -> Tui:
    tui = Tui("demo", env=env)
    tui.wait_for("weekly-adapter-check")
    return tui


def send_http(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return cli("http", "weekly-adapter-check", "-d", dsn(env), env=env)


def test_two_demos_share_one_cluster_and_endpoint(demo_env: dict[str, str]) -> None:
    first = open_demo(demo_env)
    second = None
    try:
        endpoint = shared(demo_env)["endpoint"]
        second = open_demo(demo_env)
        state = shared(demo_env)
        # The second demo reused the cluster and the endpoint: the job was not repointed.
        assert state["endpoint"] == endpoint
        assert state["owner"] == first.proc.pid
        assert state["sessions"] == [first.proc.pid, second.proc.pid]

        assert first.quit() == 0
        assert cluster(demo_env).running  # the second demo is still on it
        done = send_http(demo_env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"127.0.0.1:{endpoint['port']}/functions/v1/adapter-health" in done.stdout
        assert "< 200 OK" in done.stdout
        assert shared(demo_env)["owner"] == second.proc.pid  # the stop was handed over

        assert second.quit() == 0
        second = None
        assert not cluster(demo_env).running
        wait_until(lambda: not _alive(endpoint["pid"]), 30, "the endpoint to end")
    finally:
        for tui in (first, second):
            if tui is not None and tui.proc.poll() is None:
                tui.close()


def test_print_dsn_cluster_survives_a_tui(demo_env: dict[str, str]) -> None:
    # A TUI starts the cluster; a script asks for it to be left running; the TUI quits.
    owner = open_demo(demo_env)
    try:
        printed = cli("demo", "--print-dsn", env=demo_env)
        assert printed.returncode == 0, printed.stderr
        assert owner.quit() == 0
    finally:
        if owner.proc.poll() is None:
            owner.close()
    assert cluster(demo_env).running
    assert send_http(demo_env).returncode == 0
    # A later TUI on the running cluster leaves it running too.
    later = open_demo(demo_env)
    assert later.quit() == 0
    assert cluster(demo_env).running
    endpoint = shared(demo_env)["endpoint"]
    assert _alive(endpoint["pid"])

    stopped = cli("demo", "--stop", env=demo_env)
    assert stopped.returncode == 0
    assert "stopped the demo cluster" in stopped.stdout and "endpoint" in stopped.stdout
    assert not cluster(demo_env).running
    wait_until(lambda: not _alive(endpoint["pid"]), 30, "the endpoint to end")
    assert shared(demo_env)["endpoint"] is None
    again = cli("demo", "--stop", env=demo_env)
    assert (again.returncode, again.stdout.strip()) == (0, "no demo cluster is running")


def test_a_tui_on_a_running_cluster_leaves_it_running(demo_env: dict[str, str]) -> None:
    """The endpoint lives as long as the cluster: one left running by --print-dsn serves
    `http` with no TUI open at all, and a TUI that joins does not stop either on quit."""
    assert cli("demo", "--print-dsn", env=demo_env).returncode == 0
    assert send_http(demo_env).returncode == 0
    joined = open_demo(demo_env)
    assert shared(demo_env)["owner"] is None
    assert joined.quit() == 0
    assert cluster(demo_env).running and send_http(demo_env).returncode == 0
    assert cli("demo", "--stop", env=demo_env).returncode == 0
