"""Following cron.job_run_details as it grows, by keyset on runid."""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.db.client import Database
from tui.models import Run


@dataclass
class RunStream:
    """Remembers the last runid seen and the runs seen unfinished.

    Each poll asks for rows newer than the last one seen, plus the current state of
    the unfinished ones, so a reconnect resumes exactly where the stream stopped.
    """

    db: Database
    jobid: int | None = None
    status: str | None = None
    last_runid: int | None = None
    unfinished: set[int] = field(default_factory=set)

    async def start(self, backlog: int = 100) -> list[Run]:
        """The newest `backlog` runs, newest first."""
        runs = await self.db.runs_recent(limit=backlog, jobid=self.jobid, status=self.status)
        self.last_runid = max((r.runid for r in runs), default=0)
        self.unfinished = {r.runid for r in runs if not r.finished}
        return runs

    async def poll(self, limit: int = 1000) -> tuple[list[Run], list[Run]]:
        """(new runs oldest first, runs that changed state); call start() first."""
        if self.last_runid is None:
            return await self.start(), []
        changed = await self.db.runs_by_ids(sorted(self.unfinished))
        new = await self.db.runs_after(self.last_runid, limit=limit, jobid=self.jobid,
                                       status=self.status)
        for run in changed:
            if run.finished:
                self.unfinished.discard(run.runid)
        # Runs deleted meanwhile (a purge) will never report back: forget them.
        self.unfinished &= {r.runid for r in changed}
        for run in new:
            if not run.finished:
                self.unfinished.add(run.runid)
        if new:
            self.last_runid = new[-1].runid
        return new, changed
