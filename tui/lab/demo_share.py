"""One demo cluster, shared safely by every `cronjobs-tui demo` on this machine.

Beside the data directory, under a lock, `demo.json` says who stops the cluster and where its
adapter-health endpoint listens:

- `owner`: the pid of the demo TUI that started the cluster; it stops the cluster when it
  quits, unless another demo TUI is still on it (the stop is then handed to that one);
- `kept`: set by `demo --print-dsn`, which promised to leave the cluster running: no TUI stops
  it then, only `demo --stop`;
- `sessions`: the demo TUIs on the cluster now;
- `endpoint`: the pid and port of the endpoint process (tui/lab/demo_http.py), which serves for
  as long as the cluster runs, so a second demo reuses it instead of repointing the seed's job.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path


@dataclass
class Endpoint:
    pid: int
    port: int

    @property
    def functions_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/functions/v1"

    def alive(self) -> bool:
        """Its process runs and its port takes connections."""
        if not _alive(self.pid):
            return False
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        """End the endpoint's process, if it is still ours (its command line says so)."""
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return
        if b"tui.lab.demo_http" in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)


@dataclass
class Shared:
    owner: int | None = None
    kept: bool = False
    sessions: list[int] = field(default_factory=list)
    endpoint: Endpoint | None = None


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet reaped, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


class SharedState:
    """`with SharedState(folder) as shared:` holds the lock, reads demo.json and writes it
    back when the block ends."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.path = folder / "demo.json"
        self.shared = Shared()
        self._lock: int | None = None

    def __enter__(self) -> Shared:
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = os.open(self.folder / "demo.lock", os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)
        self.shared = self._read()
        return self.shared

    def _read(self) -> Shared:
        try:
            raw = json.loads(self.path.read_text())
            endpoint = raw.get("endpoint")
            return Shared(owner=raw.get("owner"), kept=bool(raw.get("kept")),
                          sessions=[p for p in raw.get("sessions", []) if _alive(p)],
                          endpoint=Endpoint(**endpoint) if endpoint else None)
        except (OSError, ValueError, TypeError):
            return Shared()

    def __exit__(self, *exc: object) -> None:
        try:
            part = self.path.with_name(self.path.name + ".part")
            part.write_text(json.dumps(asdict(self.shared)))
            part.replace(self.path)
        finally:
            assert self._lock is not None
            os.close(self._lock)  # releases the lock
            self._lock = None


def start_endpoint(datadir: Path, service_key: str) -> Endpoint:
    """The endpoint process for the cluster in `datadir` (host path), in a session of its
    own so a closed terminal does not end it; it ends itself when the cluster stops."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui.lab.demo_http", str(datadir)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        start_new_session=True, text=True, cwd="/")
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(service_key + "\n")
    proc.stdin.close()
    port = proc.stdout.readline().strip()
    proc.stdout.close()
    if not port.isdigit():
        proc.kill()
        raise RuntimeError("the demo's adapter-health endpoint did not start")
    return Endpoint(pid=proc.pid, port=int(port))
