"""Which of some unfinished runs are orphaned (tui/rules.py's is_orphaned): one query of
primary-key probes. The reads of jobs and runs (tui/db/client.py) judge theirs as they read
them, from the same facts (the fragments of tui/db/queries.py)."""

from __future__ import annotations

from collections.abc import Iterable

from tui import rules
from tui.db.client import Database


async def orphaned(db: Database, runids: Iterable[int]) -> dict[int, bool | None]:
    """runid -> orphaned (True, False, or None when it cannot be told) for these runs; runs
    gone meanwhile (a purge) are left out."""
    ids = sorted(set(runids))
    if not ids:
        return {}
    rows = await db.fetch("runs_liveness", {"ids": ids})
    return {r["runid"]: rules.is_orphaned(r["status"], r["job_pid"], r["pid_alive"],
                                          r["before_server_start"]) for r in rows}
