"""The demo's stand-in for the `adapter-health` Edge Function: a small HTTP server on
127.0.0.1 (a free port, in a thread), so "send now" on the demo's weekly job has an answer.

POST /functions/v1/adapter-health with `Authorization: Bearer <the demo's key>` answers
200 with JSON; without that header, 401; any other path, 404.

`python -m tui.lab.demo_http DATADIR` is the demo cluster's own endpoint (tui/lab/demo.py
starts it): it reads the key from stdin, prints its port, and serves for as long as the
cluster in DATADIR runs, so every demo on that cluster shares it and it outlives none of them
needlessly.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PATH = "/functions/v1/adapter-health"
ADAPTERS = [
    {"name": "stripe", "status": "ok", "latency_ms": 42},
    {"name": "sendgrid", "status": "ok", "latency_ms": 87},
    {"name": "s3", "status": "degraded", "latency_ms": 910},
]


@dataclass(frozen=True)
class Received:
    """One request the endpoint answered: what pg_net (or `h`) really sent, and the answer."""

    method: str
    path: str
    bearer: str  # the token after "Bearer ", "" without one
    body: bytes
    status: int


class AdapterHealth:
    """`with AdapterHealth(key) as server:` serves until the block ends; `server.functions_url`
    is what the seed's job should call."""

    def __init__(self, service_key: str | None = None):
        self.service_key = service_key
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        # Kept in memory so the demo's tests can see what arrived (bounded: a demo runs long).
        self.received: list[Received] = []
        self._received_lock = threading.Lock()

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return int(self._server.server_address[1])

    @property
    def functions_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/functions/v1"

    def start(self) -> AdapterHealth:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "adapter-health-demo/1"

            def log_message(self, *args: object) -> None:  # quiet: the TUI owns the terminal
                return

            def _answer(self, status: int, data: object, sent: bytes = b"") -> None:
                auth = self.headers.get("Authorization") or ""
                got = Received(self.command, self.path,
                               auth[7:] if auth.lower().startswith("bearer ") else "", sent,
                               status)
                with owner._received_lock:
                    owner.received = [*owner.received[-99:], got]
                body = json.dumps(data).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802  # the stdlib's name
                length = int(self.headers.get("Content-Length") or 0)
                sent = self.rfile.read(min(length, 1 << 20)) if length else b""
                if self.path.split("?", 1)[0] != PATH:
                    self._answer(404, {"error": "no such function"}, sent)
                    return
                auth = self.headers.get("Authorization") or ""
                token = auth[7:] if auth.lower().startswith("bearer ") else ""
                expected = owner.service_key
                if not token or (expected is not None and token != expected):
                    self._answer(401, {"error": "missing or invalid bearer token"}, sent)
                    return
                self._answer(200, {"status": "ok", "adapters": ADAPTERS}, sent)

            def do_GET(self) -> None:  # noqa: N802
                self._answer(405 if self.path.startswith(PATH) else 404,
                             {"error": "use POST"})

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        name="adapter-health", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> AdapterHealth:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def cluster_running(datadir: Path) -> bool:
    """Whether the postmaster of `datadir` is alive (its pid file names a live process)."""
    try:
        pid = int((datadir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, 0)
    except PermissionError:  # alive, another OS user's (the postgres user's, as root)
        return True
    except (OSError, ValueError, IndexError):
        return False
    return True


def serve_while_running(datadir: Path, service_key: str, poll_s: float = 1.0) -> None:
    """Serve until the cluster in `datadir` stops (or this process is told to stop)."""
    with AdapterHealth(service_key) as server:
        print(server.port, flush=True)
        while cluster_running(datadir):
            time.sleep(poll_s)


if __name__ == "__main__":
    # The key comes on stdin, never on the command line, where `ps` shows it to everyone.
    serve_while_running(Path(sys.argv[1]), sys.stdin.readline().strip())
