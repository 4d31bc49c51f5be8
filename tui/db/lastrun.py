"""One job's last run, searched further back than the look-back, a slice at a time.

Without the (jobid, runid) index the jobs' last runs come from the newest LOOKBACK_RUNS runs
only. For the one job an operator asks about, `BackSearch` walks down the primary key in
slices of `chunk` runids, newest first, each slice its own query under the session's
statement timeout, and stops at the first slice holding a run of the job. The caller decides
how many steps to take and can stop between any two: nothing holds the session in between.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tui.db.client import Database
from tui.models import Run

#: Runids per slice: one bounded primary-key range scan each.
CHUNK_RUNS = 100_000


@dataclass
class BackSearch:
    db: Database
    jobid: int
    chunk: int = CHUNK_RUNS
    limit: int = 50  # runs of the job returned from the slice that holds its newest
    top: int = 0  # the newest runid when the search began
    oldest: int = 0  # the oldest runid of the history
    below: int | None = None  # the next slice ends just below this runid; None: not begun
    found: list[Run] = field(default_factory=list)

    async def begin(self) -> None:
        (row,) = await self.db.fetch("runs_bounds")
        self.top, self.oldest = row["newest"] or 0, row["oldest"] or 0
        # From the top, not from where the look-back stopped: runs that landed since the
        # jobs were read are then found too, for a tenth of one slice.
        self.below = self.top + 1 if row["newest"] is not None else 0

    @property
    def begun(self) -> bool:
        return self.below is not None

    @property
    def done(self) -> bool:
        """A run was found, or the whole history was searched."""
        return bool(self.found) or (self.below is not None and self.below <= self.oldest)

    @property
    def searched(self) -> int:
        """Runids searched so far (gaps left by purges count)."""
        if self.below is None or not self.total:
            return 0
        return self.top + 1 - max(self.below, self.oldest)

    @property
    def total(self) -> int:
        return max(self.top + 1 - self.oldest, 0) if self.top else 0

    async def step(self) -> list[Run]:
        """Search the next slice; the runs of the job found there, newest first."""
        if self.below is None:
            await self.begin()
        assert self.below is not None
        if self.done:
            return self.found
        low = max(self.below - self.chunk, self.oldest)
        rows = await self.db.fetch("runs_job_slice", {"jobid": self.jobid, "low": low,
                                                      "high": self.below, "limit": self.limit})
        self.below = low
        self.found = [Run(**row) for row in rows]
        return self.found
