"""Server facts read once and kept: a steady refresh reads only facts_markers.sql, in the
same round trip as the jobs' and runs' changes (tui/ui/source.py), and facts.sql again only
when a marker moved, on a new session, or after FACTS_MAX_AGE_S.

Most of facts.sql (the versions, pg_cron's settings, the role's attributes and privileges)
changes a few times a year, yet its planning and its catalog look-ups were most of an idle
refresh's server time. What does change from one refresh to the next (whether the
scheduler runs, read-only, the server's clock) comes with the markers."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Any

from tui.db.client import Database, Read
from tui.models import ServerFacts

#: Read in full at least this often, whatever the markers say: a grant, a role's attributes
#: or a standby's primary change with no marker moving.
FACTS_MAX_AGE_S = 300.0

#: facts_markers.sql's columns whose change means the rest may have changed too.
MARKERS = ("server_started", "conf_loaded", "pg_cron_version", "in_recovery", "run_indexes")


@dataclass
class KeptFacts:
    db: Database
    facts: ServerFacts | None = None
    _markers: dict[str, Any] | None = None
    _session = -1  # the Database's session they were read on
    _read_at = float("-inf")  # monotonic

    def steady_reads(self) -> list[Read]:
        """The markers' read for this refresh's round trip; none when a full read is due."""
        if (self.facts is None or self._session != self.db.sessions
                or time.monotonic() - self._read_at > FACTS_MAX_AGE_S):
            return []
        return [("facts_markers", None)]

    async def take(self, rows: list[dict[str, Any]] | None = None) -> ServerFacts:
        """The facts, from the markers' rows of steady_reads(); read in full (a round trip of
        their own) when none were asked for or a marker moved."""
        if rows and self.facts is not None and self._markers is not None:
            (now,) = rows
            if all(now[k] == self._markers[k] for k in MARKERS):
                self.facts = replace(self.facts, scheduler_alive=now["scheduler_alive"],
                                     read_only=now["read_only"], now=now["now"])
                return self.facts
        (row,), (markers,) = await self.db.fetch_many([("facts", None), ("facts_markers", None)])
        self.facts, self._markers = await self.db.facts_of(row), markers
        self._session, self._read_at = self.db.sessions, time.monotonic()
        return self.facts

    def invalidate(self) -> None:
        """Read in full next time (a refusal that kept facts may no longer explain)."""
        self.facts = None
