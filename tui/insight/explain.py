"""Why a job did or did not run at each time its schedule gave: pure matching, no I/O.

The inputs are rows as the server holds them (cron.job_run_details, pg_stat_activity's
launcher, pg_postmaster_start_time(), the audit log's pauses); the output is one outcome per
scheduled time, with the evidence that decided it. Rules follow how pg_cron's launcher works:
it starts a job in the minute its schedule names; a job runs once at a time, so a run due while
the previous one goes on waits and starts when it ends; no more than `cron.max_running_jobs`
runs go at once, the others wait for a free slot; times passed while the launcher or the server
was down are never caught up.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo

from tui import rules
from tui.cron import next_runs, parse

OUTCOMES = ("ran", "late", "failed", "running", "queued", "inactive", "scheduler_down",
            "standby", "not_created", "unknown")
#: Outcomes in which the job did not start at its time (for the one-sentence summary).
TROUBLE = ("late", "failed", "queued", "inactive", "scheduler_down", "standby", "not_created",
           "unknown")

MINUTE = timedelta(minutes=1)
#: pg_cron stamps start_time when the run's backend begins: a little after the minute, never
#: before it; a few seconds of slack cover clocks read by different processes.
EARLY = timedelta(seconds=5)
#: The launcher wakes about once a second: a waiting run starts within this of a slot freeing.
HANDOVER = timedelta(seconds=3)
#: A start this long after its time is worth a reason (late), when one is found.
LATE_AFTER = timedelta(seconds=10)
#: Runs that held cron.max_running_jobs slots are looked for this far back.
HOLDER_SPAN = timedelta(days=1)
#: At most this many scheduled times are explained (a week of every-minute runs fits).
MAX_SLOTS = 20_160


@dataclass(frozen=True)
class RunRow:
    """A row of cron.job_run_details, as much as matching needs."""

    runid: int
    jobid: int
    status: str | None
    start_time: datetime | None
    end_time: datetime | None
    message: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


@dataclass(frozen=True)
class Evidence:
    """What the server (and the local audit log) say about the window."""

    now: datetime
    launcher_start: datetime | None  # pg_stat_activity.backend_start of the 'pg_cron launcher'
    launcher_known: bool  # False: this role may not see other roles' backends
    postmaster_start: datetime | None
    in_recovery: bool
    max_running_jobs: int | None  # None: unreadable (superuser-only setting)
    oldest_start: datetime | None  # the oldest run kept in job_run_details (history purged)
    read_back_to: datetime | None  # runs older than this were not read (bounded look-back)
    sees_all: bool = True  # False: row-level security hides other roles' runs
    #: (from, until) spans in which the audit log shows the job paused; until None: still.
    paused: tuple[tuple[datetime, datetime | None], ...] = ()
    created_at: datetime | None = None  # from the audit log, when it recorded the creation
    job_active: bool = True


@dataclass(frozen=True)
class Outcome:
    scheduled: datetime
    outcome: str
    reason: str
    runid: int | None = None
    lag_s: float | None = None
    duration_s: float | None = None
    held_by: tuple[int, ...] = field(default=())  # runids that held the slots (late)
    no_history: bool = False  # unknown only for want of history (purged, not read)
    problem: str | None = None  # a 'running' run's: 'stuck' or 'orphaned' (tui/rules.py)
    partial: bool = False  # unknown, and what would tell is hidden from this role

    @property
    def missed(self) -> bool | None:
        """tui/rules.py's is_missed: None when the evidence is unknown."""
        return rules.is_missed(self.outcome, self.no_history or self.partial)

    def as_dict(self) -> dict[str, object]:
        return {"scheduled": self.scheduled.isoformat(), "outcome": self.outcome,
                "reason": self.reason, "runid": self.runid, "lag_s": self.lag_s,
                "duration_s": self.duration_s, "missed": self.missed,
                "problem": self.problem}


def scheduled_times(expr: str, since: datetime, until: datetime, tz: str | tzinfo,
                    version: str, engine: Callable[..., list[datetime]] = next_runs
                    ) -> list[datetime]:
    """The times in (since, until] at which pg_cron (of `version`, in zone `tz`) starts a job
    with this schedule, in UTC; empty for schedules that are not a cron kind (seconds,
    @reboot). `engine`: the next-run function (tui.cron.next_runs; the accuracy check's
    tests give a deliberately wrong one)."""
    schedule = parse(expr, version)
    if schedule is None or schedule.kind != "cron":
        return []
    out: list[datetime] = []
    after = since
    while len(out) < MAX_SLOTS:
        batch = engine(expr, after, tz, 500, version=version)
        for t in batch:
            # In UTC: two aware times in the same zone compare by wall clock, fold ignored,
            # so the two 02:30 of a repeated hour would be one.
            t = t.astimezone(timezone.utc)
            if t > until:
                return out
            out.append(t)
        if len(batch) < 500:
            return out
        after = batch[-1]
    return out


def _secs(delta: timedelta) -> float:
    return round(delta.total_seconds(), 3)


def _at(t: datetime | None) -> str:
    return t.isoformat(timespec="seconds") if t else "?"


class _Index:
    """All runs read, sorted by start, for "who was running at t" and "did anything start"."""

    def __init__(self, runs: Iterable[RunRow]):
        self.started = sorted((r for r in runs if r.start_time is not None),
                              key=lambda r: (r.start_time, r.runid))
        self.starts = [r.start_time for r in self.started if r.start_time is not None]

    def started_between(self, lo: datetime, hi: datetime) -> bool:
        i = bisect_left(self.starts, lo)
        return i < len(self.starts) and self.starts[i] < hi

    def last_start_before(self, t: datetime) -> datetime | None:
        i = bisect_left(self.starts, t)
        return self.starts[i - 1] if i else None

    def busy(self, lo: datetime, at: datetime, exclude: int) -> list[RunRow]:
        """Runs that started before `at` and still went on at `at - HANDOVER` (or never ended):
        the ones that held a slot until the run at `at` could start."""
        i = bisect_left(self.starts, at)
        # A holder started at most a day before: keeps this linear in the runs of a day.
        j = bisect_left(self.starts, at - HOLDER_SPAN)
        out = []
        for r in self.started[j:i]:
            if r.runid == exclude:
                continue
            if r.end_time is None and not r.finished:
                out.append(r)
            elif r.end_time is not None and r.end_time >= at - HANDOVER and r.end_time > lo:
                out.append(r)
        return out


def explain(slots: Sequence[datetime], job_runs: Sequence[RunRow], all_runs: Sequence[RunRow],
            ev: Evidence) -> list[Outcome]:
    """One outcome per scheduled time, oldest first. `job_runs` are the job's runs,
    `all_runs` every run read in the window (for the launcher's silence and the slots held
    under cron.max_running_jobs)."""
    index = _Index(all_runs)
    mine = sorted((r for r in job_runs if r.start_time is not None),
                  key=lambda r: (r.start_time, r.runid))
    starts = [r.start_time for r in mine if r.start_time is not None]
    used: set[int] = set()
    first = mine[0] if mine else None
    out: list[Outcome] = []
    for k, slot in enumerate(slots):
        next_slot = slots[k + 1] if k + 1 < len(slots) else None
        i = bisect_left(starts, slot - EARLY)
        while i < len(mine) and mine[i].runid in used:
            i += 1
        run = mine[i] if i < len(mine) else None
        if run is not None:
            assert run.start_time is not None
            lag = run.start_time - slot
            in_minute = lag < MINUTE and (next_slot is None or run.start_time < next_slot - EARLY)
            why = _why_late(slot, run, mine, index, ev) if (not in_minute or lag >= LATE_AFTER) \
                else None
            if in_minute or why is not None:
                used.add(run.runid)
                out.append(_ran(slot, run, why))
                continue
        # Queued only while a launcher was there to queue it: one that stops (or a server that
        # restarts) forgets the times waiting behind a run, and does not catch them up.
        queued = _queued(slot, mine)
        if queued is not None and _scheduler_down(slot, index, ev, mine) is None:
            out.append(queued)
        else:
            out.append(_missed(slot, first, index, ev, mine))
    return out


def _queued(slot: datetime, mine: Sequence[RunRow]) -> Outcome | None:
    """pg_cron runs a job once at a time: a time that comes while its previous run has not
    finished waits for it (no row until it starts). Not missed."""
    for prev in mine:
        if prev.start_time is not None and prev.start_time < slot - EARLY \
                and not prev.finished and prev.end_time is None:
            return Outcome(slot, "queued", f"waiting behind its own run {prev.runid}, still "
                                           f"{prev.status or 'starting'} since "
                                           f"{_at(prev.start_time)} (a job runs once at a "
                                           "time)", held_by=(prev.runid,))
    return None


def _ran(slot: datetime, run: RunRow, why: tuple[str, tuple[int, ...]] | None) -> Outcome:
    assert run.start_time is not None
    lag = _secs(run.start_time - slot)
    duration = _secs(run.end_time - run.start_time) if run.end_time else None
    late = f"; started {lag:g} s late: {why[0]}" if why else ""
    held = why[1] if why else ()
    if run.status == "failed":
        return Outcome(slot, "failed", f"failed: {run.message or 'no message'}{late}",
                       run.runid, lag, duration, held)
    if not run.finished:
        return Outcome(slot, "running", f"started, still {run.status or 'starting'}{late}",
                       run.runid, lag, duration, held)
    if why:
        return Outcome(slot, "late", f"started {lag:g} s late: {why[0]}", run.runid, lag,
                       duration, held)
    return Outcome(slot, "ran", f"started {lag:g} s after its time, took "
                                f"{duration if duration is not None else '?'} s",
                   run.runid, lag, duration)


def _why_late(slot: datetime, run: RunRow, mine: Sequence[RunRow], index: _Index,
              ev: Evidence) -> tuple[str, tuple[int, ...]] | None:
    """Why `run` started after `slot`, if the rows say: its own previous run still going, or
    every slot of cron.max_running_jobs taken. None: no reason, so not this slot's run."""
    assert run.start_time is not None
    for prev in mine:
        if prev.start_time is None or prev.start_time >= run.start_time or prev is run:
            continue
        if prev.start_time <= slot and (
                prev.end_time is not None and prev.end_time > slot
                 and run.start_time >= prev.end_time - EARLY
                 and run.start_time <= prev.end_time + HANDOVER + MINUTE):
            return (f"queued behind its own previous run (runid {prev.runid}, "
                    f"{_at(prev.start_time)} to {_at(prev.end_time)})", (prev.runid,))
    if ev.max_running_jobs:
        # Every slot taken when the job came due, and still when it finally started.
        full_at_slot = index.busy(slot, slot + HANDOVER, run.runid)
        busy = index.busy(slot, run.start_time, run.runid)
        if len(full_at_slot) >= ev.max_running_jobs and len(busy) >= ev.max_running_jobs:
            ids = tuple(r.runid for r in busy)
            shown = ", ".join(str(i) for i in ids[:10]) + (", ..." if len(ids) > 10 else "")
            return (f"waited for one of cron.max_running_jobs = {ev.max_running_jobs} slots, "
                    f"held by runids {shown}", ids)
    return None


def _in_pause(slot: datetime, ev: Evidence) -> tuple[datetime, datetime | None] | None:
    for start, end in ev.paused:
        if start <= slot and (end is None or slot < end):
            return start, end
    return None


def _scheduler_down(slot: datetime, index: _Index, ev: Evidence, mine: Sequence[RunRow]
                    ) -> Outcome | None:
    """The scheduler's silence from this time to a (re)start of the server or the launcher, or
    a launcher gone now with no start of the job since: nothing could start the job then."""
    restart = ev.postmaster_start
    if restart is not None and restart > slot and not index.started_between(slot - EARLY,
                                                                              restart):
        return Outcome(slot, "scheduler_down", f"server restarted at {_at(restart)}, after "
                                               "this time; no job started in between "
                                               "(missed times are not caught up)")
    launcher = ev.launcher_start
    if launcher is not None and launcher > slot and not index.started_between(slot - EARLY,
                                                                               launcher):
        return Outcome(slot, "scheduler_down", f"the pg_cron launcher started at "
                                               f"{_at(launcher)}, after this time; no job "
                                               "started in between (it was not running)")
    if ev.launcher_known and launcher is None and not ev.in_recovery:
        # A running launcher starts a waiting run as soon as a slot frees: if this job never
        # started after this time, the launcher went away before it could.
        last = index.last_start_before(ev.now)
        since_own = any(r.start_time is not None and r.start_time >= slot - EARLY
                        for r in mine)
        if last is None or last <= slot or not since_own:
            return Outcome(slot, "scheduler_down", "the pg_cron launcher is not running now; "
                                                   "the job has not started since this time "
                                                   f"(the last start of any job: {_at(last)})")
    return None


def _missed(slot: datetime, first: RunRow | None, index: _Index, ev: Evidence,
            mine: Sequence[RunRow]) -> Outcome:
    if ev.created_at is not None and slot < ev.created_at:
        return Outcome(slot, "not_created", f"the job was created at {_at(ev.created_at)} "
                                            "(audit log)")
    pause = _in_pause(slot, ev)
    if pause is not None:
        until = f" until {_at(pause[1])}" if pause[1] else ", still paused"
        return Outcome(slot, "inactive", f"paused at {_at(pause[0])}{until} (audit log)")
    if ev.read_back_to is not None and slot < ev.read_back_to:
        return Outcome(slot, "unknown", f"runs before {_at(ev.read_back_to)} were not read "
                                        "(look-back limit): rerun with a later --since",
                       no_history=True)
    if ev.oldest_start is None or slot < ev.oldest_start:
        oldest = _at(ev.oldest_start) if ev.oldest_start else "none kept"
        return Outcome(slot, "unknown", f"history purged or never written: the oldest run "
                                        f"kept in cron.job_run_details started {oldest}",
                       no_history=True)
    if first is not None and first.start_time is not None and slot < first.start_time - EARLY:
        return Outcome(slot, "not_created", f"before the job's first recorded run (runid "
                                            f"{first.runid}, {_at(first.start_time)}): pg_cron "
                                            "keeps no creation time")
    if ev.in_recovery:
        # This server's own starts say nothing of the primary's launcher, which ran the runs
        # replicated here.
        return Outcome(slot, "standby", "this server is a standby (in recovery), which runs "
                                        "no jobs, and the primary's history replicated here "
                                        "has no run for this time: explain it on the primary")
    down = _scheduler_down(slot, index, ev, mine)
    if down is not None:
        return down
    if not ev.job_active:
        last = mine[-1].start_time if mine else None
        if last is None or slot > last:
            return Outcome(slot, "inactive", f"the job is paused now (last run {_at(last)}); "
                                             "when it was paused is not recorded here")
    if first is None:
        return Outcome(slot, "unknown", "no run of this job is recorded at all, and pg_cron "
                                        "keeps no creation time")
    missing = []
    if not ev.launcher_known:
        missing.append("whether the launcher ran (needs pg_read_all_stats)")
    if not ev.sees_all:
        missing.append("other roles' runs (row-level security)")
    if ev.max_running_jobs is None:
        missing.append("cron.max_running_jobs (needs pg_read_all_settings)")
    what = "; unknown here: " + ", ".join(missing) if missing else ""
    return Outcome(slot, "unknown", "no run recorded for this time and no cause in the "
                                    f"history or the audit log (the server log's pg_cron "
                                    f"lines may say){what}", partial=bool(missing))


def last_trouble(outcomes: Sequence[Outcome]) -> Outcome | None:
    """The newest outcome in which the job did not start on time (not counting times before
    the job existed or before the history kept)."""
    for o in reversed(outcomes):
        if o.outcome in TROUBLE and o.outcome != "not_created" and not o.no_history:
            return o
    return None


def sentence(o: Outcome, tz_name: str | None = None) -> str:
    """One sentence for the detail view."""
    when = o.scheduled.strftime("%Y-%m-%d %H:%M")
    zone = f" {tz_name}" if tz_name else ""
    words = {"late": "ran late", "failed": "failed", "inactive": "did not run (inactive)",
             "queued": "not started yet (queued behind its own run)",
             "scheduler_down": "did not run (scheduler not running)",
             "standby": "did not run (standby)", "not_created": "did not run (job not created "
             "yet)", "unknown": "did not run"}
    return f"Last missed or late: {when}{zone} {words.get(o.outcome, o.outcome)}: {o.reason}."


def pauses_from_audit(entries: Iterable[dict[str, object]], job: str,
                      server: str | None) -> tuple[tuple[tuple[datetime, datetime | None], ...],
                                                   datetime | None]:
    """Pause spans and the creation time of `job` from audit entries (oldest first or not)."""
    events = []
    for e in entries:
        if e.get("job") != job or e.get("outcome") != "ok":
            continue
        if server is not None and e.get("server") not in (server, None):
            continue
        try:
            at = datetime.fromisoformat(str(e.get("at")))
        except ValueError:
            continue
        events.append((at, str(e.get("action"))))
    events.sort()
    spans: list[tuple[datetime, datetime | None]] = []
    created = None
    start: datetime | None = None
    for at, action in events:
        if action == "create" and created is None:
            created = at
        if action == "pause" and start is None:
            start = at
        elif action == "resume" and start is not None:
            spans.append((start, at))
            start = None
    if start is not None:
        spans.append((start, None))
    return tuple(spans), created
