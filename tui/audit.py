"""A local, append-only JSON-lines record of every change made from here.

One line per mutation (trigger, pause, resume, edit, create, delete, http send): when,
who (the OS user and the database role), which server, which job, before and after.
Commands and messages are masked before they are written.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from platformdirs import user_state_dir

from tui.masking import mask
from tui.models import Job


def default_path() -> Path:
    return Path(user_state_dir("cronjobs-tui")) / "audit.jsonl"


def job_state(job: Job | None) -> dict[str, Any] | None:
    if job is None:
        return None
    state = {k: v for k, v in asdict(job).items() if not k.startswith("last_")}
    state["command"] = mask(job.command)
    return state


@dataclass
class AuditLog:
    path: Path

    def record(self, action: str, *, server: str, role: str | None, job: str | None,
               before: Job | None = None, after: Job | None = None,
               outcome: str = "ok", detail: str | None = None) -> dict[str, Any]:
        entry = {
            "at": datetime.now(timezone.utc).isoformat(),
            "os_user": getpass.getuser(),
            "role": role,
            "server": mask(server),
            "action": action,
            "job": job,
            "before": job_state(before),
            "after": job_state(after),
            "outcome": outcome,
            "detail": mask(detail),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # One write of one line: appends from two app instances do not interleave.
        line = json.dumps(entry, ensure_ascii=True, default=str) + "\n"
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)
        return entry

    def tail(self, count: int = 200) -> list[dict[str, Any]]:
        """The newest `count` entries, newest first (lines that do not parse are skipped)."""
        if not self.path.exists():
            return []
        lines = self.path.read_text(encoding="utf-8", errors="replace").splitlines()[-count:]
        entries = []
        for line in reversed(lines):
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                continue
        return entries
