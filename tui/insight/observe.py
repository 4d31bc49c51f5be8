"""One pass over one database: what is wrong there now, as episodes' signals (Seen, Cleared).

Each pass reads what changed since the last one (runs by runid, keyset; the times the
schedules gave since the last judged time; pg_net's answers by id) from where the cursor says
it stopped, so a restart neither repeats nor misses what happened while the watch was down.
Everything for metrics is kept in a `Snapshot`: a scrape serves the last pass, never queries.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from tui import rules
from tui.db import Database, DatabaseError, watch_reads
from tui.db import insight as reads
from tui.db.client import RUNS_AFTER_PAGE
from tui.insight.episodes import Cleared, Seen
from tui.insight.explain import Evidence, Outcome, RunRow, explain
from tui.insight.memory import Memory
from tui.masking import mask
from tui.models import Job, Run, ServerFacts
from tui.text import one_line

#: How far back a watch with no state looks at its first pass.
FIRST_LOOKBACK = timedelta(minutes=15)


def clean(text: str | None, width: int = 500) -> str:
    """Database text for an alert: secrets masked, one inert line."""
    return one_line(mask(text) or "", width)


@dataclass
class Cursor:
    """Where the watch of one database has reached (kept in the state file)."""

    last_runid: int | None = None
    judged_until: str | None = None  # scheduled times up to this were judged (missed)
    http_after: int | None = None
    open_runs: list[int] = field(default_factory=list)  # unfinished runs to read again
    jobs_seen: dict[str, str] = field(default_factory=dict)  # jobid: first seen (ISO)
    down_since: str | None = None  # unreachable since (this watch saw it)
    covered_until: str | None = None  # scheduler-down times before this were the outage's

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Cursor:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class Snapshot:
    """What the last pass saw, for /metrics."""

    up: bool = False
    facts: ServerFacts | None = None
    jobs: list[Job] = field(default_factory=list)
    finished: list[tuple[Run, Job | None]] = field(default_factory=list)
    stuck: dict[int, int] = field(default_factory=dict)  # jobid: stuck runs
    orphaned: dict[int, int] = field(default_factory=dict)  # jobid: orphaned runs
    missed: dict[int, int] = field(default_factory=dict)  # jobid: missed times this pass
    http_errors: int = 0


@dataclass
class Observation:
    seen: list[Seen] = field(default_factory=list)
    cleared: list[Cleared] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)  # (profile, level kind)
    snapshot: Snapshot = field(default_factory=Snapshot)


HINT = "cronjobs-tui explain JOB says why at each time"


class Observer:
    """The reads of one pass of one database, turned into signals."""

    def __init__(self, profile: str, db: Database, cursor: Cursor, grace_s: float,
                 memory: Memory | None = None):
        self.profile = profile
        self.memory = memory if memory is not None else Memory()
        self._orphaned: set[int] = set()  # runids judged orphaned this pass
        self.db = db
        self.cursor = cursor
        self.grace = timedelta(seconds=grace_s)
        self.out = Observation()

    def _seen(self, kind: str, subject: str, message: str, at: datetime, count: int = 1,
              job: Job | None = None, database: str | None = None) -> None:
        self.out.seen.append(Seen(kind, self.profile, subject, message, at.isoformat(), count,
                                  clean(job.label, 200) if job else None,
                                  job.jobid if job else None,
                                  (job.database if job else database)))

    def _cleared(self, kind: str, subject: str, message: str, at: datetime) -> None:
        self.out.cleared.append(Cleared(kind, self.profile, subject, message, at.isoformat()))

    async def observe(self, open_jobids: dict[str, set[int]]) -> Observation:
        """`open_jobids`: kind -> jobids with an open episode here (ended when the job is
        gone). Never raises for the server: unreachable is an episode."""
        self.out.checked.append((self.profile, "unreachable"))
        try:
            await self._observe(open_jobids)
        except DatabaseError as exc:
            now = datetime.now(timezone.utc)
            what = ("the database did not answer" if exc.lost
                    else "the watch cannot read pg_cron there")
            self.cursor.down_since = self.cursor.down_since or now.isoformat()
            self._seen("unreachable", "server", f"{what}: {clean(str(exc))}", now, 0,
                       database=self.out.snapshot.facts.database
                       if self.out.snapshot.facts else None)
            self.out.snapshot.up = False
        return self.out

    async def _observe(self, open_jobids: dict[str, set[int]]) -> None:
        db, cur, snap, mem = self.db, self.cursor, self.out.snapshot, self.memory
        try:
            if mem.due():
                mem.take_full(await watch_reads.full(db, everything=mem.everything))
            first_pass = cur.last_runid is None  # no state: this watch's first look
            if first_pass:
                assert mem.facts is not None
                now = mem.facts.now
                rows, _ = await reads.runs_since(db, now - FIRST_LOOKBACK)
                recent = [r["runid"] for r in rows
                          if r["start_time"] is None or r["start_time"] >= now - FIRST_LOOKBACK]
                cur.last_runid = (min(recent) - 1) if recent else await reads.max_runid(db)
            assert cur.last_runid is not None
            before = cur.last_runid
            st = await self._steady(before, first_pass)
        except DatabaseError:
            mem.forget()  # read everything again next time
            raise
        facts = mem.facts_now(st.markers)
        now = facts.now
        if cur.down_since is not None:
            cur.covered_until, cur.down_since = now.isoformat(), None
        jobs = sorted(mem.jobs.values(), key=lambda j: j.jobid)
        snap.facts, snap.jobs, snap.up = facts, jobs, True
        by_id = dict(mem.jobs)
        if len(cur.jobs_seen) != len(by_id) or any(str(j) not in cur.jobs_seen for j in by_id):
            stamp = now.isoformat()
            cur.jobs_seen = {str(j): cur.jobs_seen.get(str(j), stamp) for j in sorted(by_id)}
        for kind, ids in open_jobids.items():
            for jobid in ids - set(by_id):
                self._cleared(kind, str(jobid), "the job no longer exists", now)
        for jobid in open_jobids.get("missed", set()) & set(by_id):
            if not by_id[jobid].active:
                self._cleared("missed", str(jobid), "the job is paused", now)
        self.out.checked.append((self.profile, "scheduler_down"))
        if facts.scheduler_alive is False and not facts.in_recovery:
            self._seen("scheduler_down", "server",
                       "the pg_cron launcher is not running: no job starts (restart "
                       "PostgreSQL; the server log says why it stopped)", now, 0,
                       database=facts.database)
        self._runs(now, by_id, first_pass, before, st.runs)
        self._stuck(now, by_id, st)
        await self._missed(facts, st.markers, jobs, first_pass)
        self._http(now, facts, first_pass, st)
        mem.prune_window(datetime.fromisoformat(cur.judged_until) if cur.judged_until
                         else now, set(cur.open_runs))

    async def _steady(self, after: int, first_pass: bool) -> watch_reads.Steady:
        """This pass's reads: one round trip in steady state; what the markers say changed
        is read again, and a backlog of new runs page after page (at most 20,000 a pass)."""
        db, cur, mem = self.db, self.cursor, self.memory
        http_after = ((cur.http_after if cur.http_after is not None else -1)
                      if mem.http_readable else None)
        st = await watch_reads.steady(db, after, sorted({*cur.open_runs, *mem.pending}),
                                      http_after)
        mem.pending = set()
        if st.markers.facts_key() != mem.facts_key:
            # Read again (the unfinished runs it finds are read with the next pass's).
            mem.take_full(await watch_reads.full(db))
        elif st.markers.jobs_fingerprint != mem.fingerprint:
            assert mem.facts is not None
            fresh = await watch_reads.jobs(db, mem.facts.has_run_index)
            mem.jobs = {j.jobid: j for j in fresh}
            mem.fingerprint = st.markers.jobs_fingerprint
        pages = 1
        while st.more and pages < 20:
            newest = max(r.runid for r in st.runs)
            more = await db.runs_after(newest)
            st.runs += more
            st.more = len(more) >= RUNS_AFTER_PAGE
            pages += 1
        if st.more:
            mem.forget()  # runs skipped until the next pass: what was kept is read again
        mem.take_runs(st.runs, max([after, *(r.runid for r in st.runs)]))
        return st

    def _runs(self, now: datetime, by_id: dict[int, Job], first_pass: bool, before: int,
              runs: list[Run]) -> None:
        cur = self.cursor
        new = [r for r in runs if r.runid > before]
        if new:
            cur.last_runid = new[-1].runid
        open_runs = []
        per_job: dict[int, list[Run]] = {}
        for run in runs:
            if not run.finished:
                open_runs.append(run.runid)
                continue
            self.out.snapshot.finished.append((run, by_id.get(run.jobid)))
            per_job.setdefault(run.jobid, []).append(run)
        newest = cur.last_runid or 0
        # Unfinished runs fall out of sight as insight_unfinished's look-back would drop them.
        cur.open_runs = [r for r in sorted(set(open_runs))
                         if r > newest - rules.USUAL_LOOKBACK][-5000:]
        if first_pass:
            # A job failing since before the watch's look-back is failing now, as the TUI and
            # the doctor say: its episode opens, counted from its last run alone.
            for known in by_id.values():
                if known.jobid not in per_job and rules.is_failing(known.last_status):
                    self._seen("failing", str(known.jobid),
                               f"run {known.last_runid} failed: {clean(known.last_message)}",
                               known.last_end or known.last_start or now, 1, known)
        for jobid, runs in per_job.items():
            job = by_id.get(jobid)
            if job is None:
                continue  # gone since: its old failures are no news
            streak = rules.failed_streak(r.status for r in reversed(runs))
            if streak:
                failed = runs[-streak:]
                first, last = failed[0], failed[-1]
                self._seen("failing", str(jobid),
                           f"run {last.runid} failed: {clean(last.return_message)}",
                           first.end_time or first.start_time or now, streak, job)
            else:
                last = runs[-1]
                self._cleared("failing", str(jobid), f"run {last.runid} succeeded",
                              last.end_time or now)
            # A run started: the job is no longer missing its times.
            self._cleared("missed", str(jobid), f"run {runs[-1].runid} started", now)

    def _stuck(self, now: datetime, by_id: dict[int, Job], st: watch_reads.Steady) -> None:
        """Runs going far past their job's usual (stuck), and runs nobody will finish
        (orphaned), by the house's one rule (tui/rules.py)."""
        self.out.checked += [(self.profile, "stuck"), (self.profile, "orphaned")]
        snap = self.out.snapshot
        still = set(self.cursor.open_runs)
        rows: list[dict[str, Any]] = [
            {"runid": r.runid, "jobid": r.jobid, "status": r.status, "start_time": r.start_time,
             "orphaned": r.orphaned} for r in st.runs if not r.finished and r.runid in still]
        usual = self.memory.usuals({row["jobid"] for row in rows})
        for row in rows:
            job = by_id.get(row["jobid"])
            if job is None:
                continue
            # Judged as it was read (tui/db/client.runs_of): None where other backends
            # cannot be seen, unknown, not gone.
            orphaned = row["orphaned"]
            if orphaned:
                snap.orphaned[job.jobid] = snap.orphaned.get(job.jobid, 0) + 1
                self._orphaned.add(row["runid"])
                self._seen("orphaned", str(job.jobid),
                           f"run {row['runid']} is {row['status']} but its backend is gone: "
                           "nobody will finish it (cronjobs-tui doctor: runs.orphaned has the fix)",
                           row["start_time"] or now, 0, job)
                continue
            u = usual.get(job.jobid)
            if not rules.is_stuck(row["status"], row["start_time"], now, u, orphaned):
                continue
            going = (now - row["start_time"]).total_seconds()
            figures = u.duration if u is not None else None
            usual_text = (f"it usually takes {figures[0]:.1f} s (median of {u.count})"
                          if figures and u else "no usual duration is known")
            snap.stuck[job.jobid] = snap.stuck.get(job.jobid, 0) + 1
            self._seen("stuck", str(job.jobid),
                       f"run {row['runid']} has been {row['status']} for {going:.0f} s; "
                       f"{usual_text}", row["start_time"], 0, job)

    async def _missed(self, facts: ServerFacts, m: watch_reads.Markers, jobs: list[Job],
                      first_pass: bool) -> None:
        from tui.insight.gather import run_rows, zone_of

        cur, now = self.cursor, facts.now
        until = now - self.grace
        since = (datetime.fromisoformat(cur.judged_until) if cur.judged_until
                 else now - FIRST_LOOKBACK - self.grace)
        if until <= since or facts.in_recovery:
            return
        tz = zone_of(facts)  # DatabaseError when unreadable: this database is not watchable
        version = facts.pg_cron_grammar or "1.6"
        wanted = [(job, slots) for job in jobs if job.active
                  if (slots := self.memory.slots(job, since, until, tz, version))]
        if not wanted:
            cur.judged_until = until.isoformat()
            return
        mem, stopped = self.memory, None
        if mem.window is None:
            rows, stopped = await reads.runs_since(self.db, since)
            if stopped is None:
                mem.keep_window(run_rows(rows))
            runs = run_rows(rows)
        else:
            runs = sorted(mem.window.values(), key=lambda r: r.runid)
        ev = Evidence(now=now, launcher_start=m.launcher_start,
                      launcher_known=m.launcher_known,
                      postmaster_start=m.postmaster_start, in_recovery=m.in_recovery,
                      max_running_jobs=mem.max_running_jobs, oldest_start=m.oldest_start,
                      read_back_to=stopped, sees_all=facts.sees_all)
        by_job: dict[int, list[RunRow]] = {}
        for r in runs:
            by_job.setdefault(r.jobid, []).append(r)
        # Only a run that will end holds a time back: an orphaned one would hold it for ever.
        going = [r for r in runs if not r.finished and r.start_time is not None
                 and r.runid not in self._orphaned]
        busy = {r.jobid for r in going}
        full = bool(ev.max_running_jobs) and len(going) >= (ev.max_running_jobs or 0)
        covered = (datetime.fromisoformat(cur.covered_until) if cur.covered_until else None)
        hold: datetime | None = None
        down: list[datetime] = []
        for job, slots in wanted:
            mine = by_job.get(job.jobid, [])
            first_seen = datetime.fromisoformat(cur.jobs_seen[str(job.jobid)])
            times: list[Outcome] = []
            started = None
            for o in explain(slots, mine, runs, ev):
                if o.outcome in rules.STARTED:
                    started = o
                if o.outcome == "scheduler_down":
                    if not first_pass and (covered is None or o.scheduled >= covered):
                        down.append(o.scheduled)
                    continue
                if not rules.is_missed(o.outcome, o.no_history) or (
                        not mine and o.scheduled < first_seen):
                    continue  # no run at all before this watch saw the job: unknown
                if job.jobid in busy or full:
                    # It may be queued behind its own run or the limit: judge it later.
                    hold = o.scheduled if hold is None else min(hold, o.scheduled)
                    continue
                times.append(o)
            if times and started is not None and started.scheduled > times[-1].scheduled:
                self._cleared("missed", str(job.jobid), f"started at its time "
                              f"{started.scheduled:%Y-%m-%d %H:%M %Z}", now)
            elif times:
                self.out.snapshot.missed[job.jobid] = len(times)
                last = times[-1]
                self._seen("missed", str(job.jobid),
                           f"did not start at {last.scheduled:%Y-%m-%d %H:%M %Z}: "
                           f"{clean(last.reason)} ({HINT})", times[0].scheduled, len(times),
                           job)
        if down:
            self._seen("scheduler_down", "server",
                       f"no job started from {min(down):%Y-%m-%d %H:%M %Z}: the server or "
                       "pg_cron's launcher was down (missed times are not caught up)",
                       min(down), 0, database=facts.database)
        judged = until if hold is None else hold - timedelta(seconds=1)
        cur.judged_until = max(since, judged).isoformat()

    def _http(self, now: datetime, facts: ServerFacts, first_pass: bool,
              st: watch_reads.Steady) -> None:
        cur = self.cursor
        rows = st.http_errors
        if rows is None:
            return
        errors = []
        for r in rows:
            cur.http_after = max(cur.http_after or 0, r["id"])
            if first_pass and r["created"] is not None and r["created"] < now - FIRST_LOOKBACK:
                continue  # older than a first watch looks back
            errors.append(r)
        if cur.http_after is None:
            cur.http_after = 0
        self.out.snapshot.http_errors = len(errors)
        if errors:
            r = errors[-1]
            what = (f"HTTP {r['status_code']}" if r["status_code"] is not None else
                    "timed out" if r["timed_out"] else "error")
            detail = r["error_msg"] or r["content"] or ""
            self._seen("http_error", "pg_net",
                       f"pg_net request {r['id']}: {what}: {clean(detail, 300)}",
                       errors[0]["created"] or now, len(errors), database=facts.database)
        ok = st.http_ok
        if ok is not None and (not errors or ok > errors[-1]["id"]):
            self._cleared("http_error", "pg_net", f"pg_net request {ok} answered", now)
