"""Alerts from the database alone (`cronjobs-tui watch`, tui/cli/insight.py).

Each pass reads what changed since the last one (runs by runid, keyset; the times the
schedules gave since the last judged time) and turns it into events, each with a key that
names it for good (`failed:<runid>`, `missed:<jobid>:<time>`, ...). A key is written to the
state file once every webhook took the event, so a restart neither repeats an alert nor misses
what happened while the watch was down (it resumes from the runid and time it had reached).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tui import rules
from tui.db import Database, DatabaseError
from tui.db import insight as reads
from tui.insight.explain import Evidence, RunRow, explain, scheduled_times
from tui.masking import mask
from tui.models import Job, Run, ServerFacts
from tui.text import inert, one_line

#: How far back a watch with no state file looks at its first pass.
FIRST_LOOKBACK = timedelta(minutes=15)
#: Keys remembered (the newest): far more than one pass produces.
KEEP_SENT = 20_000
#: Outcomes of a scheduled time that mean "it did start" (or is waiting its turn).
STARTED = ("ran", "late", "failed", "running")


@dataclass
class Event:
    key: str
    kind: str  # failed, missed, stuck, orphaned, scheduler_down, unreachable, http_error
    at: str  # ISO time it happened (or was first seen)
    message: str
    job: str | None = None
    jobid: int | None = None
    database: str | None = None
    runid: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def text(self) -> str:
        who = f" {self.job}" if self.job else ""
        return inert(f"pg_cron {self.kind}{who}: {self.message}")


def _clean(text: str | None, width: int = 500) -> str:
    """Database text for an alert: secrets masked, one inert line."""
    return one_line(mask(text) or "", width)


@dataclass
class State:
    """What the watch has reached and sent; a JSON file written whole after each pass."""

    last_runid: int | None = None
    judged_until: str | None = None  # scheduled times up to this were judged (missed)
    http_after: int | None = None
    open_runs: list[int] = field(default_factory=list)  # unfinished runs to read again
    jobs_seen: dict[str, str] = field(default_factory=dict)  # jobid: first seen (ISO)
    sent: dict[str, str] = field(default_factory=dict)  # key: when sent
    pending: dict[str, dict[str, Any]] = field(default_factory=dict)  # key: {event, left}
    episodes: dict[str, str] = field(default_factory=dict)  # scheduler_down/unreachable: key

    @classmethod
    def load(cls, path: Path | None) -> State:
        if path is None or not path.exists():
            return cls()
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
            return cls(**known)
        except (OSError, ValueError, TypeError, AttributeError) as exc:
            from tui.config import ConfigError

            # Starting afresh would repeat or lose alerts: the operator decides.
            raise ConfigError(f"the state file {path} cannot be read ({exc}): fix or remove "
                              "it") from exc

    def save(self, path: Path | None) -> None:
        if path is None:
            return
        if len(self.sent) > KEEP_SENT:
            newest = sorted(self.sent.items(), key=lambda kv: kv[1])[-KEEP_SENT:]
            self.sent = dict(newest)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Written beside and renamed: a crash leaves the old file or the new, never half.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(asdict(self), f, ensure_ascii=True)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)


# -- webhooks -------------------------------------------------------------------------------

def slack_escaped(text: str) -> str:
    """Slack reads `<!channel>`, `<@U123>` and `<url|label>` in a message as mentions and links:
    a job named so would page a whole channel. Its own escapes make them plain characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _url_id(url: str) -> str:
    # The state file names a webhook by a hash: Slack's URLs are secrets.
    return hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass
class Webhook:
    url: str
    fmt: str = "slack"  # or generic
    attempts: int = 4
    backoff_s: float = 0.5
    timeout_s: float = 10

    @property
    def id(self) -> str:
        return _url_id(self.url)

    @property
    def shown(self) -> str:
        return mask(self.url) or ""

    def body(self, event: Event) -> dict[str, Any]:
        if self.fmt == "generic":
            return event.as_dict()
        return {"text": slack_escaped(event.text())}

    async def send(self, client: Any, event: Event) -> str | None:
        """None when delivered; else the last error (masked)."""
        import httpx

        error = None
        for attempt in range(self.attempts):
            if attempt:
                await asyncio.sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                answer = await client.post(self.url, json=self.body(event),
                                           timeout=self.timeout_s)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
                continue
            if answer.status_code < 300:
                return None
            error = f"HTTP {answer.status_code}"
            if 400 <= answer.status_code < 500 and answer.status_code not in (408, 429):
                break  # the receiver refuses this body: retrying will not help
        return mask(error)


# -- the watcher ----------------------------------------------------------------------------

@dataclass
class Options:
    grace_s: float = 120  # a scheduled time with no run this much later is missed
    # Stuck is tui/rules.py's (is_stuck), as on every other surface.


class Watcher:
    def __init__(self, db: Database, state: State, webhooks: Sequence[Webhook],
                 opts: Options | None = None, metrics: Any = None, out: Any = None):
        self.db = db
        self.state = state
        self.webhooks = list(webhooks)
        self.opts = opts or Options()
        self.metrics = metrics
        self.out = out if out is not None else sys.stdout
        self.problems: list[str] = []  # open problems after the last pass (for --once)

    async def run_pass(self) -> list[Event]:
        """One pass: new events, printed and sent (each once). Never raises for the server."""
        events: list[Event] = []
        self.problems = []
        try:
            events += await self._observe()
        except DatabaseError as exc:
            events += self._unreachable(exc)
        fresh = [e for e in events if e.key not in self.state.sent
                 and e.key not in self.state.pending]
        for event in fresh:
            self.out.write(json.dumps(event.as_dict(), ensure_ascii=True) + "\n")
            self.out.flush()
            self.state.pending[event.key] = {"event": event.as_dict(),
                                             "left": [w.id for w in self.webhooks]}
            if self.metrics is not None and event.kind == "missed":
                self.metrics.missed(event)
        await self._deliver()
        return fresh

    async def _deliver(self) -> None:
        import httpx

        if not self.state.pending:
            return
        by_id = {w.id: w for w in self.webhooks}
        async with httpx.AsyncClient(follow_redirects=False) as client:
            for key, item in list(self.state.pending.items()):
                event = Event(**item["event"])
                left = []
                for wid in item["left"]:
                    hook = by_id.get(wid)
                    if hook is None:
                        continue  # that webhook is no longer configured
                    error = await hook.send(client, event)
                    if error is not None:
                        left.append(wid)
                        print(f"cronjobs-tui watch: webhook {hook.shown} refused {key}: {error}"
                              "; will retry", file=sys.stderr)
                if left:
                    item["left"] = left
                else:
                    del self.state.pending[key]
                    self.state.sent[key] = datetime.now(timezone.utc).isoformat()

    def _unreachable(self, exc: DatabaseError) -> list[Event]:
        now = datetime.now(timezone.utc).isoformat()
        if self.metrics is not None:
            self.metrics.unreachable()
        key = self.state.episodes.setdefault("unreachable", f"unreachable:{now}")
        self.problems.append("database unreachable")
        what = ("the database did not answer" if exc.lost
                else "the watch cannot read pg_cron there")
        return [Event(key, "unreachable", key.split(":", 1)[1],
                      f"{what}: {_clean(str(exc))}")]

    async def _observe(self) -> list[Event]:
        db, state = self.db, self.state
        facts = await db.facts()
        from tui.db.client import require_pg_cron

        require_pg_cron(facts)
        state.episodes.pop("unreachable", None)
        events: list[Event] = []
        now = facts.now
        jobs = await db.jobs(indexed=facts.has_run_index)
        by_id = {j.jobid: j for j in jobs}
        # A job is judged from when this watch first saw it (pg_cron keeps no creation time);
        # at the very first pass, from as far back as a first pass looks.
        first = now if state.judged_until else now - FIRST_LOOKBACK - timedelta(
            seconds=self.opts.grace_s)
        for job in jobs:
            state.jobs_seen.setdefault(str(job.jobid), first.isoformat())
        if self.metrics is not None:
            self.metrics.scheduler(facts, jobs)
        if facts.scheduler_alive is False and not facts.in_recovery:
            key = state.episodes.setdefault("scheduler_down",
                                            f"scheduler_down:{now.isoformat()}")
            self.problems.append("scheduler not running")
            events.append(Event(key, "scheduler_down", key.split(":", 1)[1],
                                "the pg_cron launcher is not running: no job starts "
                                "(restart PostgreSQL; the server log says why it stopped)"))
        elif facts.scheduler_alive:
            state.episodes.pop("scheduler_down", None)
        usual = await reads.usual_durations(db)
        events += await self._runs(now, by_id)
        events += await self._stuck(now, by_id, usual)
        events += await self._missed(facts, jobs)
        events += await self._http(now)
        return events

    async def _runs(self, now: datetime, by_id: dict[int, Job]) -> list[Event]:
        db, state = self.db, self.state
        if state.last_runid is None:
            rows, _ = await reads.runs_since(db, now - FIRST_LOOKBACK)
            recent = [r["runid"] for r in rows
                      if r["start_time"] is None or r["start_time"] >= now - FIRST_LOOKBACK]
            state.last_runid = (min(recent) - 1) if recent else await reads.max_runid(db)
        seen: list[Run] = []
        for _ in range(20):  # at most 20,000 new runs a pass; the rest next pass
            page = await db.runs_after(state.last_runid, limit=1000)
            seen += page
            if page:
                state.last_runid = page[-1].runid
            if len(page) < 1000:
                break
        again = await db.runs_by_ids(state.open_runs) if state.open_runs else []
        events = []
        open_runs = []
        for run in [*again, *seen]:
            if not run.finished:
                open_runs.append(run.runid)
                continue
            job = by_id.get(run.jobid)
            if self.metrics is not None:
                self.metrics.finished(run, job)
            if run.status == "failed":
                events.append(Event(
                    f"failed:{run.runid}", "failed",
                    (run.end_time or run.start_time or now).isoformat(),
                    f"run {run.runid} failed: {_clean(run.return_message)}",
                    job=_clean(run.job_label, 200), jobid=run.jobid, database=run.database,
                    runid=run.runid))
        state.open_runs = sorted(set(open_runs))[-5000:]
        return events

    async def _stuck(self, now: datetime, by_id: dict[int, Job],
                     usual: dict[int, rules.Usual]) -> list[Event]:
        events = []
        for row in await reads.unfinished(self.db):
            u = usual.get(row["jobid"])
            orphaned = rules.is_orphaned(row["status"], row["job_pid"], row["pid_alive"],
                                         row["before_server_start"])
            job = by_id.get(row["jobid"])
            label = job.label if job else f"#{row['jobid']}"
            if orphaned:  # not stuck: nobody runs it (tui/rules.py)
                self.problems.append(f"run {row['runid']} orphaned")
                events.append(Event(
                    f"orphaned:{row['runid']}", "orphaned", now.isoformat(),
                    f"run {row['runid']} is still {row['status']}, but its backend is gone: "
                    "it will never finish (the doctor's runs.orphaned gives the fix)",
                    job=_clean(label, 200), jobid=row["jobid"],
                    database=job.database if job else None, runid=row["runid"]))
                continue
            if not rules.is_stuck(row["status"], row["start_time"], now, u, orphaned):
                continue
            going = (now - row["start_time"]).total_seconds()
            self.problems.append(f"run {row['runid']} stuck")
            usually = (f"it usually takes {u.median_s:.1f} s (median of {u.count})"
                       if u is not None else "no earlier run to compare with")
            events.append(Event(
                f"stuck:{row['runid']}", "stuck", now.isoformat(),
                f"run {row['runid']} has been {row['status']} for {going:.0f} s; {usually}",
                job=_clean(label, 200), jobid=row["jobid"],
                database=job.database if job else None, runid=row["runid"]))
        return events

    async def _missed(self, facts: ServerFacts, jobs: list[Job]) -> list[Event]:
        from tui.insight.gather import run_rows, zone_of

        state, now = self.state, facts.now
        until = now - timedelta(seconds=self.opts.grace_s)
        since = (datetime.fromisoformat(state.judged_until) if state.judged_until
                 else now - FIRST_LOOKBACK - timedelta(seconds=self.opts.grace_s))
        if until <= since or facts.in_recovery:
            return []
        try:
            tz = zone_of(facts)
        except DatabaseError as exc:
            self.problems.append(str(exc))
            return []
        version = facts.pg_cron_grammar or "1.6"
        wanted: list[tuple[Job, list[datetime]]] = []
        for job in jobs:
            if not job.active:
                continue
            first_seen = datetime.fromisoformat(state.jobs_seen[str(job.jobid)])
            slots = [t for t in scheduled_times(job.schedule, max(since, first_seen), until,
                                                tz, version)]
            if slots:
                wanted.append((job, slots))
        if not wanted:
            state.judged_until = until.isoformat()
            return []
        sched = await reads.scheduler(self.db)
        rows, stopped = await reads.runs_since(self.db, since)
        runs = run_rows(rows)
        ev = Evidence(now=now, launcher_start=sched.launcher_start,
                      launcher_known=sched.launcher_known,
                      postmaster_start=sched.postmaster_start, in_recovery=sched.in_recovery,
                      max_running_jobs=sched.max_running_jobs, oldest_start=sched.oldest_start,
                      read_back_to=stopped, sees_all=facts.sees_all)
        busy = {r.jobid for r in runs if not r.finished and r.start_time is not None}
        events = []
        hold: datetime | None = None
        for job, slots in wanted:
            mine = [r for r in runs if r.jobid == job.jobid]
            for o in explain(slots, mine, runs, ev):
                if o.outcome in STARTED or o.outcome == "not_created":
                    continue
                if job.jobid in busy or (ev.max_running_jobs and _full(runs, ev)):
                    # It may be queued behind its own run or the limit: judge it later.
                    hold = o.scheduled if hold is None else min(hold, o.scheduled)
                    continue
                events.append(Event(
                    f"missed:{job.jobid}:{o.scheduled.isoformat()}", "missed",
                    o.scheduled.isoformat(),
                    f"did not start at {o.scheduled:%Y-%m-%d %H:%M %Z}: {_clean(o.reason)}",
                    job=_clean(job.label, 200), jobid=job.jobid, database=job.database))
        judged = until if hold is None else hold - timedelta(seconds=1)
        state.judged_until = max(since, judged).isoformat()
        return events

    async def _http(self, now: datetime) -> list[Event]:
        state = self.state
        after = state.http_after if state.http_after is not None else -1
        rows = await reads.http_errors(self.db, after)
        if rows is None:
            return []
        events = []
        for r in rows:
            state.http_after = max(state.http_after or 0, r["id"])
            if state.http_after is not None and after == -1 and r["created"] is not None \
                    and r["created"] < now - FIRST_LOOKBACK:
                continue  # older than a first watch looks back
            what = (f"HTTP {r['status_code']}" if r["status_code"] is not None else
                    "timed out" if r["timed_out"] else "error")
            detail = r["error_msg"] or r["content"] or ""
            events.append(Event(f"http_error:{r['id']}", "http_error",
                                (r["created"] or now).isoformat(),
                                f"pg_net request {r['id']}: {what}: {_clean(detail, 300)}"))
        if state.http_after is None:
            state.http_after = 0
        return events


def _full(runs: Sequence[RunRow], ev: Evidence) -> bool:
    going = sum(1 for r in runs if not r.finished and r.start_time is not None)
    return bool(ev.max_running_jobs) and going >= (ev.max_running_jobs or 0)
