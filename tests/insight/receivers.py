"""Real local peers for the watch's tests: an HTTP receiver that counts what it takes, one that
accepts connections and never answers, a port where nothing listens, and a real Alertmanager
(Debian's prometheus-alertmanager) on a free loopback port."""

from __future__ import annotations

import io
import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx

from tui.db import ConnectOptions, Database
from tui.insight.deliver import Receiver as AnyReceiver
from tui.insight.watch import Options, PassResult, State, Target, Watch
from tui.lab.sandbox import free_port


class Receiver:
    """A webhook endpoint on 127.0.0.1: records every body by path."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[Any]] = {}
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  # http.server's name
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.bodies.setdefault(self.path, []).append(body)
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def count(self, path: str) -> int:
        return len(self.bodies.get(path, []))

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Silent:
    """Accepts TCP connections and never says a word (a receiver or a database that hangs),
    until closed."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(200)
        self.port = self.sock.getsockname()[1]
        self.held: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.held.append(conn)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        for conn in self.held:
            conn.close()
        self.sock.close()


def refusing_url() -> str:
    """Where nothing listens: a port taken and released."""
    return f"http://127.0.0.1:{free_port()}/hook"


def watch_for(conninfo: str, state: State, receivers: Sequence[AnyReceiver], *,
              profile: str = "default", opts: Options | None = None) -> Watch:
    return Watch([Target(profile, Database(ConnectOptions(dbname=conninfo)))], state,
                 receivers, opts or Options(deadline_s=10), out=io.StringIO(),
                 err=io.StringIO())


async def one_pass(watch: Watch, **kwargs: Any) -> PassResult:
    try:
        return await watch.run_pass(**kwargs)
    finally:
        for t in watch.targets:
            await t.db.close()


class Alertmanager:
    """Debian's prometheus-alertmanager, started on a free loopback port with its own config
    and storage in `tmp`, clustering off."""

    BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")

    def __init__(self, tmp: Path):
        assert self.BINARY is not None
        tmp.mkdir(parents=True, exist_ok=True)
        config = tmp / "alertmanager.yml"
        config.write_text("route:\n  receiver: blackhole\n  group_wait: 1s\n"
                          "receivers:\n  - name: blackhole\n")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (tmp / "alertmanager.log").open("w")
        self.proc = subprocess.Popen(
            [self.BINARY, f"--config.file={config}", f"--storage.path={tmp / 'data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/-/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        self.close()
        raise RuntimeError(f"Alertmanager did not start; see {tmp / 'alertmanager.log'}")

    def alerts(self, **params: str) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()  # type: ignore[no-any-return]

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
