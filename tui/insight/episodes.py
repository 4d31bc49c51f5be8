"""Problems as episodes: opened once, reminded at most every `repeat`, resolved once. Pure.

A pass of the watch says, per problem key (`profile/kind/subject`), what it saw: the problem
(`Seen`, with how many new occurrences) or its end (`Cleared`). Kinds that are a level (the
scheduler down, the database unreachable, a run stuck) are checked whole at each pass: when the
pass checked that kind for a profile and did not see it, the episode ends. Kinds that are
events (failed runs, missed times, pg_net errors) end only when a `Cleared` says so (the job's
next success, its next start, an answer that is not an error) or the job is gone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

#: Kinds that a pass checks whole (absent from a pass that checked them: resolved).
LEVELS = ("scheduler_down", "unreachable", "stuck", "orphaned")
KINDS = ("failing", "missed", "stuck", "orphaned", "http_error", "scheduler_down",
         "unreachable")
STATES = ("firing", "reminder", "resolved")


@dataclass(frozen=True)
class Seen:
    """A problem seen in this pass."""

    kind: str
    profile: str
    subject: str  # the jobid, or "server", "pg_net"
    message: str  # masked, one line
    at: str  # ISO: when it started (the first failed run, the first missed time...)
    count: int = 1  # new occurrences in this pass (0 for a level: it is just still there)
    job: str | None = None
    jobid: int | None = None
    database: str | None = None

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.kind}/{self.subject}"


@dataclass(frozen=True)
class Cleared:
    """The end of a problem, seen in this pass (the job succeeded, started, went away)."""

    kind: str
    profile: str
    subject: str
    message: str
    at: str

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.kind}/{self.subject}"


@dataclass
class Episode:
    id: str
    kind: str
    profile: str
    subject: str
    opened: str  # ISO
    message: str  # what started it
    latest: str  # the newest occurrence's message
    count: int  # occurrences so far
    notified_at: str  # when the last firing/reminder was made
    notified_count: int  # occurrences at that time
    job: str | None = None
    jobid: int | None = None
    database: str | None = None

    @property
    def key(self) -> str:
        return f"{self.profile}/{self.kind}/{self.subject}"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def hint(self) -> str:
        """The command that says more."""
        if self.jobid is not None and self.kind in ("failing", "missed", "stuck", "orphaned"):
            return f"cronjobs-tui --profile {self.profile} explain '#{self.jobid}'"
        return f"cronjobs-tui --profile {self.profile} doctor"


@dataclass(frozen=True)
class Change:
    """What one episode did in one pass: what the receivers and stdout are told."""

    state: str  # firing, reminder, resolved
    at: str
    episode: Episode
    message: str  # the sentence for people

    def as_dict(self) -> dict[str, Any]:
        e = self.episode
        return {"episode": e.id, "state": self.state, "kind": e.kind, "at": self.at,
                "profile": e.profile, "job": e.job, "jobid": e.jobid, "database": e.database,
                "opened": e.opened, "count": e.count, "message": self.message,
                "explain": e.hint}

    def record(self) -> dict[str, Any]:
        """For the state file (undelivered changes)."""
        return {"state": self.state, "at": self.at, "message": self.message,
                "episode": self.episode.as_dict()}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Change:
        return cls(data["state"], data["at"], Episode(**data["episode"]), data["message"])


def episode_id(key: str, opened: str) -> str:
    """Short and stable for one episode (the same key opened again later is another)."""
    return hashlib.sha256(f"{key}@{opened}".encode()).hexdigest()[:12]


@dataclass
class Book:
    """The open episodes, by key."""

    open: dict[str, Episode] = field(default_factory=dict)

    def step(self, seen: Iterable[Seen], cleared: Iterable[Cleared],
             checked: Iterable[tuple[str, str]], now: datetime,
             repeat: timedelta) -> list[Change]:
        """Apply one pass. `checked`: the (profile, kind) pairs of LEVELS this pass looked at
        in full."""
        changes: list[Change] = []
        stamp = now.isoformat()
        seen_keys = set()
        for s in seen:
            seen_keys.add(s.key)
            ep = self.open.get(s.key)
            if ep is None:
                count = max(s.count, 1)
                ep = Episode(episode_id(s.key, s.at), s.kind, s.profile, s.subject, s.at,
                             s.message, s.message, count, stamp, count, s.job, s.jobid,
                             s.database)
                self.open[s.key] = ep
                changes.append(Change("firing", stamp, replace(ep), _opened(ep)))
                continue
            ep.count += s.count
            ep.latest = s.message
            if ep.job is None and s.job is not None:
                ep.job = s.job
            if now - datetime.fromisoformat(ep.notified_at) >= repeat:
                more = ep.count - ep.notified_count
                ep.notified_at, ep.notified_count = stamp, ep.count
                changes.append(Change("reminder", stamp, replace(ep), _reminder(ep, more)))
        ends: dict[str, str] = {c.key: c.message for c in cleared if c.key not in seen_keys}
        levels = set(checked)
        for key, ep in list(self.open.items()):
            if key in seen_keys:
                continue
            if key in ends:
                why = ends[key]
            elif ep.kind in LEVELS and (ep.profile, ep.kind) in levels:
                why = "no longer seen"
            else:
                continue
            del self.open[key]
            changes.append(Change("resolved", stamp, replace(ep), _resolved(ep, why)))
        return changes

    def as_dict(self) -> dict[str, Any]:
        return {k: e.as_dict() for k, e in self.open.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Book:
        return cls({k: Episode(**v) for k, v in data.items()})


WHAT = {"failing": "failing", "missed": "missed its scheduled time",
        "stuck": "stuck", "orphaned": "left with a run nobody will finish",
        "http_error": "pg_net requests answered with errors",
        "scheduler_down": "the pg_cron scheduler is not running",
        "unreachable": "the database is unreachable"}


def _who(ep: Episode) -> str:
    where = f"[{ep.profile}] "
    return where + (f"{ep.job}: " if ep.job else "")


def _opened(ep: Episode) -> str:
    runs = f" ({ep.count} so far)" if ep.count > 1 else ""
    return f"{_who(ep)}{WHAT[ep.kind]}{runs}: {ep.message}"


def _counts(ep: Episode, more: int | None = None) -> str:
    """How many runs or times so far (a level, such as a scheduler down, has none)."""
    if ep.kind in LEVELS:
        return ""
    return f" ({more} more, {ep.count} in all)" if more is not None else f" ({ep.count} in all)"


def _reminder(ep: Episode, more: int) -> str:
    return f"{_who(ep)}still {WHAT[ep.kind]} since {ep.opened}{_counts(ep, more)}: {ep.latest}"


def _resolved(ep: Episode, why: str) -> str:
    return f"{_who(ep)}resolved: {WHAT[ep.kind]} since {ep.opened}{_counts(ep)} ended: {why}"
