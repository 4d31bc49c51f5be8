"""Alerts from the database alone (`cronjobs-tui watch`, tui/cli/watch.py).

One process watches one database or a fleet of them: each pass observes every database at
once (one connection each, its own backoff when unreachable, its own time budget), turns what
it saw into episode changes (tui/insight/episodes.py), prints them as JSON lines and delivers
them to every receiver within the pass's deadline (tui/insight/deliver.py). The state file
keeps where each database's watch reached, the open episodes and what is undelivered.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tui.db import Database
from tui.insight.deliver import Receiver, deliver
from tui.insight.episodes import Book, Change
from tui.insight.observe import Cursor, Observation, Observer, Snapshot

#: Exit codes of `watch --once` (bits): something is wrong; something could not be delivered.
EXIT_WRONG = 1
EXIT_UNDELIVERED = 4
#: An unreachable database is tried again after 1, 2, 4... passes, at most this many.
MAX_BACKOFF_PASSES = 16
#: The state file's layout.
STATE_VERSION = 2


@dataclass
class State:
    """What the watch has reached, its open episodes and undelivered changes; a JSON file
    written whole after each pass."""

    cursors: dict[str, Cursor] = field(default_factory=dict)
    book: Book = field(default_factory=Book)
    queues: dict[str, list[Change]] = field(default_factory=dict)  # receiver id: changes

    @classmethod
    def load(cls, path: Path | None) -> State:
        if path is None or not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != STATE_VERSION:
                # The first layout: one database, its cursor at the top level; its old
                # per-event records are not episodes and are left behind.
                return cls({"default": Cursor.from_dict(data)})
            return cls({k: Cursor.from_dict(v) for k, v in data["cursors"].items()},
                       Book.from_dict(data["episodes"]),
                       {k: [Change.from_record(c) for c in v]
                        for k, v in data["queues"].items()})
        except (OSError, ValueError, TypeError, AttributeError, KeyError) as exc:
            from tui.config import ConfigError

            # Starting afresh would repeat or lose alerts: the operator decides.
            raise ConfigError(f"the state file {path} cannot be read ({exc}): fix or remove "
                              "it") from exc

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        data = {"version": STATE_VERSION,
                "cursors": {k: c.as_dict() for k, c in self.cursors.items()},
                "episodes": self.book.as_dict(),
                "queues": {k: [c.record() for c in v] for k, v in self.queues.items()}}
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a crash leaves the old file or the new, never half.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, ensure_ascii=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


@dataclass
class Options:
    grace_s: float = 120  # a scheduled time with no run this much later is missed
    repeat: timedelta = timedelta(hours=4)  # reminders of an open episode, at most this often
    deadline_s: float = 20  # deliveries of one pass, all receivers together
    interval_s: float = 30  # between passes (Alertmanager's endsAt is a few passes ahead)
    read_timeout_s: float = 60  # one database's reads in one pass


@dataclass
class Target:
    """One watched database: its profile name and its (lazily connecting) Database."""

    profile: str
    db: Database
    skip: int = 0  # passes left before trying again (backoff while unreachable)
    backoff: int = 0


@dataclass
class PassResult:
    changes: list[Change]
    undelivered: list[str]  # receivers (masked) that did not take everything

    @property
    def wrong(self) -> bool:
        return bool(self.changes)


class Watch:
    def __init__(self, targets: Sequence[Target], state: State, receivers: Sequence[Receiver],
                 opts: Options | None = None, metrics: Any = None, out: Any = None,
                 err: Any = None):
        self.targets = list(targets)
        self.state = state
        self.receivers = list(receivers)
        self.opts = opts or Options()
        self.metrics = metrics
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr

    async def run_pass(self, now: datetime | None = None) -> PassResult:
        """Observe every database at once, step the episodes, print and deliver the changes."""
        due = [t for t in self.targets if t.skip <= 0]
        for t in self.targets:
            t.skip -= 1
        observations = await asyncio.gather(*(self._observe(t) for t in due))
        seen, cleared, checked = [], [], []
        for t, ob in zip(due, observations):
            seen += ob.seen
            cleared += ob.cleared
            checked += ob.checked
            self._backoff(t, ob.snapshot)
            if self.metrics is not None:
                self.metrics.update(t.profile, ob.snapshot,
                                    self.state.cursors[t.profile].jobs_seen)
        now = now or datetime.now(timezone.utc)
        changes = self.state.book.step(seen, cleared, checked, now, self.opts.repeat)
        for change in changes:
            self.out.write(json.dumps(change.as_dict(), ensure_ascii=True) + "\n")
        self.out.flush()
        for r in self.receivers:
            queue = self.state.queues.setdefault(r.id, [])
            queue += [c for c in changes if r.wants(c)]
        known = {r.id for r in self.receivers}
        for rid in list(self.state.queues):
            if rid not in known:
                del self.state.queues[rid]  # that receiver is no longer configured
        undelivered = await deliver(self.receivers, self.state.queues,
                                    list(self.state.book.open.values()), now,
                                    timedelta(seconds=max(3 * self.opts.interval_s, 180)),
                                    self.opts.deadline_s, self.err)
        return PassResult(changes, undelivered)

    @property
    def wrong(self) -> bool:
        """Some episode is open."""
        return bool(self.state.book.open)

    @property
    def undelivered(self) -> bool:
        return any(self.state.queues.values())

    async def _observe(self, t: Target) -> Observation:
        cursor = self.state.cursors.setdefault(t.profile, Cursor())
        open_jobids: dict[str, set[int]] = {}
        for ep in self.state.book.open.values():
            if ep.profile == t.profile and ep.jobid is not None:
                open_jobids.setdefault(ep.kind, set()).add(ep.jobid)
        observer = Observer(t.profile, t.db, cursor, self.opts.grace_s)
        try:
            return await asyncio.wait_for(observer.observe(open_jobids),
                                          self.opts.read_timeout_s)
        except (TimeoutError, asyncio.TimeoutError):
            from tui.db import DatabaseError

            # Its connection is mid-query: dropped, so the next pass starts clean.
            await t.db.close()
            late = Observer(t.profile, t.db, cursor, self.opts.grace_s)
            late.out.checked.append((t.profile, "unreachable"))
            late.out.seen.append(_unreachable(
                t.profile, DatabaseError(f"no answer within {self.opts.read_timeout_s:g} s")))
            return late.out

    def _backoff(self, t: Target, snap: Snapshot) -> None:
        if snap.up:
            t.backoff = t.skip = 0
        else:
            t.backoff = min(max(1, t.backoff * 2), MAX_BACKOFF_PASSES)
            t.skip = t.backoff - 1


def _unreachable(profile: str, exc: Exception) -> Any:
    from tui.insight.episodes import Seen
    from tui.insight.observe import clean

    return Seen("unreachable", profile, "server", f"the database did not answer: "
                f"{clean(str(exc))}", datetime.now(timezone.utc).isoformat(), 0)
