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
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tui import log
from tui.db import Database
from tui.insight.deliver import Receiver, deliver
from tui.insight.episodes import Book, Change, Seen
from tui.insight.memory import Memory
from tui.insight.observe import Cursor, Observation, Observer, Snapshot, clean

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
    #: What this database's passes read once and keep (tui/insight/memory.py).
    memory: Memory = field(default_factory=Memory)
    took_s: float | None = None  # its last pass's reads, in seconds (the bench shows them)


@dataclass
class PassResult:
    changes: list[Change]
    undelivered: list[str]  # receivers (masked) that did not take everything


class Watch:
    def __init__(self, targets: Sequence[Target], state: State, receivers: Sequence[Receiver],
                 opts: Options | None = None, metrics: Any = None, out: Any = None,
                 err: Any = None, state_path: Path | None = None):
        self.targets = list(targets)
        self.state = state
        self.receivers = list(receivers)
        self.opts = opts or Options()
        self.metrics = metrics
        self.out = out if out is not None else sys.stdout
        self.err = err if err is not None else sys.stderr
        self.state_path = state_path
        self._news = asyncio.Event()

    async def run_pass(self, now: datetime | None = None) -> PassResult:
        """Every database once, at once: each one's changes printed as soon as it is read (a
        slow one holds up nobody's output), then one delivery round for all."""
        changes: list[Change] = []
        due = [t for t in self.targets if t.skip <= 0]
        for t in self.targets:
            if t.skip > 0:
                t.skip -= 1
        for done in asyncio.as_completed([self._observe(t) for t in due]):
            target, ob = await done
            changes += self._take(target, ob, now)
        undelivered = await self.deliver(now)
        self.state.save(self.state_path)
        return PassResult(changes, undelivered)

    async def run_forever(self) -> None:
        """Each database on its own clock (its own backoff when unreachable), and one
        deliverer that sends whatever is new within each round's deadline."""
        tasks = [asyncio.ensure_future(self._loop(t)) for t in self.targets]
        tasks.append(asyncio.ensure_future(self._deliverer()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, t: Target) -> None:
        while True:
            target, ob = await self._observe(t)
            if self._take(target, ob, None):
                self._news.set()
            self.state.save(self.state_path)
            await asyncio.sleep(self.opts.interval_s * (t.skip + 1))
            t.skip = 0

    async def _deliverer(self) -> None:
        while True:
            try:
                await asyncio.wait_for(self._news.wait(), self.opts.interval_s)
            except (TimeoutError, asyncio.TimeoutError):
                pass  # Alertmanager's firing alerts are refreshed every interval anyway
            self._news.clear()
            await self.deliver(None)
            self.state.save(self.state_path)

    def _take(self, t: Target, ob: Observation, now: datetime | None) -> list[Change]:
        """One database's observation into the episodes: changes printed and queued."""
        self._backoff(t, ob.snapshot)
        if self.metrics is not None:
            self.metrics.update(t.profile, ob.snapshot,
                                self.state.cursors[t.profile].jobs_seen)
        changes = self.state.book.step(ob.seen, ob.cleared, ob.checked,
                                       now or datetime.now(timezone.utc), self.opts.repeat)
        for change in changes:
            self.out.write(json.dumps(change.as_dict(), ensure_ascii=True) + "\n")
            log.event("episode", change.message, state=change.state,
                      episode=change.episode.id, profile=t.profile)
        self.out.flush()
        for r in self.receivers:
            self.state.queues.setdefault(r.id, []).extend(c for c in changes if r.wants(c))
        return changes

    async def deliver(self, now: datetime | None) -> list[str]:
        known = {r.id for r in self.receivers}
        for rid in list(self.state.queues):
            if rid not in known:
                del self.state.queues[rid]  # that receiver is no longer configured
        return await deliver(self.receivers, self.state.queues,
                             list(self.state.book.open.values()),
                             now or datetime.now(timezone.utc),
                             timedelta(seconds=max(3 * self.opts.interval_s, 180)),
                             self.opts.deadline_s, self.err)

    @property
    def wrong(self) -> bool:
        """Some episode is open."""
        return bool(self.state.book.open)

    @property
    def undelivered(self) -> bool:
        return any(self.state.queues.values())

    async def _observe(self, t: Target) -> tuple[Target, Observation]:
        cursor = self.state.cursors.setdefault(t.profile, Cursor())
        open_jobids: dict[str, set[int]] = {}
        for ep in self.state.book.open.values():
            if ep.profile == t.profile and ep.jobid is not None:
                open_jobids.setdefault(ep.kind, set()).add(ep.jobid)
        observer = Observer(t.profile, t.db, cursor, self.opts.grace_s, t.memory)
        started = time.perf_counter()
        try:
            return t, await asyncio.wait_for(observer.observe(open_jobids),
                                             self.opts.read_timeout_s)
        except (TimeoutError, asyncio.TimeoutError):
            why = f"no answer within {self.opts.read_timeout_s:g} s"
        except Exception as exc:  # noqa: BLE001  # one database's surprise stops no other's pass
            log.swallowed(f"watching {t.profile}", exc)
            why = f"{type(exc).__name__}: {clean(str(exc))}"
        finally:
            t.took_s = time.perf_counter() - started
        # Its connection may be mid-query: dropped, so the next pass starts clean.
        await t.db.close()
        t.memory.forget()
        late = Observation()
        late.checked.append((t.profile, "unreachable"))
        late.seen.append(_unreachable(t.profile, why))
        return t, late

    def _backoff(self, t: Target, snap: Snapshot) -> None:
        if snap.up:
            t.backoff = t.skip = 0
        else:
            t.backoff = min(max(1, t.backoff * 2), MAX_BACKOFF_PASSES)
            t.skip = t.backoff - 1


def _unreachable(profile: str, why: str) -> Seen:
    return Seen("unreachable", profile, "server", f"the database did not answer: {why}",
                datetime.now(timezone.utc).isoformat(), 0)
