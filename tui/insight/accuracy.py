"""The app's own accuracy on this server: pure matching, no I/O.

Every time our engine (tui.cron.next_runs) says a job fires in the history kept is matched to
the run pg_cron really started. It started within ON_TIME: on time. Later, for a reason the
rows show (queued behind its own run, cron.max_running_jobs full): late, and why. No run, for
a reason (paused, the scheduler or the server down, a standby): missed, and why. The reasons
are explain's (tui/insight/explain.py), never worked out a second time here. Anything else is
*unexplained*: a time with no run and no reason, or a run of the scheduler (not one started by
hand) at a time the engine did not give. Either is a bug, in our reading of pg_cron or in the
server, and is said so.

A schedule changed in the window (the audit log's edits) is judged piece by piece, each piece
with the schedule then in force. An interval job ('N seconds') fires N seconds after its
previous start (the engine's `last_start`): each run after the first is one fire time.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any

from tui.cron import next_runs, parse
from tui.insight.explain import EARLY, Evidence, Outcome, RunRow, explain, scheduled_times

#: A start this close after its time is on time.
ON_TIME = timedelta(seconds=5)
#: Unexplained cases kept for the report (and --json).
MAX_CASES = 20
REPORT = "https://github.com/cronjobs-tui/cronjobs-tui/issues"
ON_TIME_WORD, LATE, MISSED, UNEXPLAINED = "on_time", "late", "missed", "unexplained"

Engine = Callable[..., list[datetime]]


@dataclass(frozen=True)
class AccuracyJob:
    """A job as judged: its schedule now, and the changes the audit log recorded."""

    jobid: int
    label: str
    schedule: str
    active: bool = True
    #: (when, schedule before, schedule after), oldest first.
    changes: tuple[tuple[datetime, str, str], ...] = ()
    paused: tuple[tuple[datetime, datetime | None], ...] = ()
    created_at: datetime | None = None


@dataclass(frozen=True)
class Case:
    job: str
    jobid: int
    at: datetime  # the fire time, or the start of a run nobody predicted
    kind: str  # ON_TIME_WORD, LATE, MISSED or UNEXPLAINED
    reason: str
    runid: int | None = None
    lag_s: float | None = None
    fire_time: bool = True  # False: a run at a time the engine did not give

    def as_dict(self) -> dict[str, Any]:
        return {"job": self.job, "jobid": self.jobid, "at": self.at.isoformat(),
                "kind": self.kind, "reason": self.reason, "runid": self.runid,
                "lag_s": self.lag_s}


@dataclass
class Tally:
    fire_times: int = 0
    on_time: int = 0
    late: int = 0
    missed: int = 0
    unexplained: int = 0  # fire times with no run nor reason, and runs nobody predicted

    def add(self, case: Case) -> None:
        self.fire_times += case.fire_time
        setattr(self, case.kind, getattr(self, case.kind) + 1)

    @property
    def percent(self) -> float:
        """Cases the engine got right (on time, or late or missed for a known reason)."""
        cases = self.on_time + self.late + self.missed + self.unexplained
        return 100.0 if not cases else 100.0 * (cases - self.unexplained) / cases

    def as_dict(self) -> dict[str, Any]:
        return {"fire_times": self.fire_times, "on_time": self.on_time, "late": self.late,
                "missed": self.missed, "unexplained": self.unexplained,
                "percent": round(self.percent, 2)}


@dataclass
class Accuracy:
    since: datetime
    until: datetime
    total: Tally = field(default_factory=Tally)
    per_job: dict[int, Tally] = field(default_factory=dict)
    unexplained: list[Case] = field(default_factory=list)
    not_judged: list[str] = field(default_factory=list)  # jobs left out, and why

    def record(self, case: Case) -> None:
        self.total.add(case)
        self.per_job.setdefault(case.jobid, Tally()).add(case)
        if case.kind == UNEXPLAINED:
            self.unexplained.append(case)

    def sentence(self) -> str:
        return sentence(self.total, self.until - self.since)

    def as_dict(self) -> dict[str, Any]:
        return {"since": self.since.isoformat(), "until": self.until.isoformat(),
                **self.total.as_dict(),
                "per_job": {str(j): t.as_dict() for j, t in sorted(self.per_job.items())},
                "unexplained_cases": [c.as_dict() for c in self.unexplained[:MAX_CASES]],
                "not_judged": self.not_judged}


def _span(span: timedelta) -> str:
    days = span / timedelta(days=1)
    if days >= 1:
        return f"{days:.0f} d"
    hours = span / timedelta(hours=1)
    return f"{hours:.0f} h" if hours >= 1 else f"{span.total_seconds() / 60:.0f} min"


def sentence(t: Tally, span: timedelta) -> str:
    """'10,080 fire times in 7 d: 10,080 started within 5 s; 0 unexplained'."""
    extra = "".join(f", {n:,} {word}" for n, word in ((t.late, "late for a known reason"),
                                                     (t.missed, "missed for a known reason"))
                    if n)
    return (f"{t.fire_times:,} fire times in {_span(span)}: {t.on_time:,} started within "
            f"{ON_TIME.seconds} s{extra}; {t.unexplained:,} unexplained")


BUG = ("An unexplained case is a bug, in cronjobs-tui's reading of pg_cron or in the server: "
       f"please report it at {REPORT} with the output of `cronjobs-tui doctor --json` "
       "(schedule.accuracy) and the job's schedule, cron.timezone and pg_cron release.")


# -- the matching ----------------------------------------------------------------------

def judge(jobs: Sequence[AccuracyJob], runs: Sequence[RunRow], manual: Iterable[int],
          ev: Evidence, since: datetime, until: datetime, tz: str | tzinfo, version: str,
          engine: Engine = next_runs) -> Accuracy:
    """Every job's fire times in (since, until] against `runs` (every job's, read since a
    little before `since`); `manual`: the runids started by hand. `ev` is the server's
    evidence; each job's pauses, creation and state are set from the job."""
    result = Accuracy(since, until)
    by_hand = set(manual)
    by_job: dict[int, list[RunRow]] = {}
    for r in runs:
        by_job.setdefault(r.jobid, []).append(r)
    for job in jobs:
        mine = [r for r in by_job.get(job.jobid, []) if r.runid not in by_hand]
        job_ev = replace(ev, paused=job.paused, created_at=job.created_at,
                         job_active=job.active)
        for lo, hi, schedule in _pieces(job, since, until):
            parsed = parse(schedule, version)
            if parsed is None or parsed.kind == "reboot":
                result.not_judged.append(f"{job.label}: {schedule!r} has no fire times to "
                                         "judge (invalid here, or at server start only)")
                continue
            in_piece = [r for r in mine if r.start_time is not None
                        and lo <= r.start_time <= hi + ON_TIME]
            if not mine and job.created_at is None:
                # pg_cron keeps no creation time: a job that never ran may be newer than
                # every time its schedule gave. Said, not counted either way.
                result.not_judged.append(f"{job.label}: no run recorded and no creation "
                                         "time known (the audit log has none)")
                break
            if parsed.kind == "seconds":
                cases = _interval(job, schedule, in_piece, job_ev, hi, tz, version, engine)
            else:
                cases = _cron(job, schedule, mine, runs, in_piece, job_ev, lo, hi, tz,
                              version, engine)
            for case in cases:
                result.record(case)
    return result


def _pieces(job: AccuracyJob, since: datetime, until: datetime
            ) -> list[tuple[datetime, datetime, str]]:
    """(from, until, schedule) of the window, cut where the audit log saw the schedule
    change."""
    changes = [c for c in job.changes if since < c[0] < until]
    if not changes:
        return [(since, until, job.schedule)]
    out, start = [], since
    for at, before, _after in changes:
        out.append((start, at, before))
        start = at
    out.append((start, until, changes[-1][2]))
    return out


def _cron(job: AccuracyJob, schedule: str, mine: list[RunRow], runs: Sequence[RunRow],
          in_piece: list[RunRow], ev: Evidence, lo: datetime, hi: datetime, tz: str | tzinfo,
          version: str, engine: Engine) -> list[Case]:
    slots = scheduled_times(schedule, lo, hi, tz, version, engine=engine)
    outcomes = explain(slots, mine, runs, ev)
    cases = [c for o in outcomes if (c := _case(job, o)) is not None]
    used = {o.runid for o in outcomes if o.runid is not None}
    for r in in_piece:
        assert r.start_time is not None
        if r.runid not in used and r.start_time > lo + EARLY:
            cases.append(Case(job.label, job.jobid, r.start_time, UNEXPLAINED,
                              f"the scheduler started run {r.runid} at "
                              f"{r.start_time.isoformat(timespec='seconds')}, a time our "
                              f"engine did not give for {schedule!r}", r.runid,
                              fire_time=False))
    return cases


def _case(job: AccuracyJob, o: Outcome) -> Case | None:
    """An explain outcome as accuracy counts it; None for times the job did not exist yet or
    the history does not reach (not fire times to judge)."""
    base = Case(job.label, job.jobid, o.scheduled, UNEXPLAINED, o.reason, o.runid, o.lag_s)
    if o.outcome in ("ran", "failed", "running", "late"):
        if o.lag_s is not None and o.lag_s <= ON_TIME.total_seconds():
            return replace(base, kind=ON_TIME_WORD)
        if o.held_by:
            return replace(base, kind=LATE)
        # In its minute but a few seconds slow, and nothing queued it: the server was busy.
        return replace(base, kind=LATE, reason=f"started {o.lag_s:g} s after its time, in "
                                               "its minute; nothing queued it (a busy server)")
    if o.outcome == "queued":  # not started yet: it waits for its own run, as pg_cron does
        return replace(base, kind=LATE)
    if o.outcome in ("inactive", "scheduler_down", "standby"):
        return replace(base, kind=MISSED)
    if o.outcome == "not_created" or o.no_history:
        return None
    return replace(base, reason=f"no run and no reason: {o.reason}")


def _interval(job: AccuracyJob, schedule: str, runs: list[RunRow], ev: Evidence,
              hi: datetime, tz: str | tzinfo, version: str, engine: Engine) -> list[Case]:
    """Each run after the first is due when the engine says (N s after the previous start);
    pg_cron waits for a run still going. The first run depends on when the scheduler learnt
    of the job: not judged."""
    ordered = sorted(runs, key=lambda r: (r.start_time, r.runid))
    cases: list[Case] = []

    def due_after(prev: RunRow) -> datetime | None:
        assert prev.start_time is not None
        times = engine(schedule, prev.start_time, tz, 1, version=version,
                       last_start=prev.start_time)
        return times[0].astimezone(timezone.utc) if times else None

    for prev, run in zip(ordered, ordered[1:]):
        assert run.start_time is not None and prev.start_time is not None
        due = due_after(prev)
        if due is None:  # the engine gave no time at all: the run was not predicted
            cases.append(Case(job.label, job.jobid, run.start_time, UNEXPLAINED,
                              f"run {run.runid} at a time our engine did not give",
                              run.runid, fire_time=False))
            continue
        expected, why = due, None
        if prev.end_time is not None and prev.end_time > due:
            expected, why = prev.end_time, (f"queued behind its own previous run (runid "
                                            f"{prev.runid}, until "
                                            f"{prev.end_time.isoformat(timespec='seconds')})")
        lag = (run.start_time - expected).total_seconds()
        base = Case(job.label, job.jobid, due, ON_TIME_WORD, f"started {lag:g} s after its "
                    "time", run.runid, round(lag, 3))
        if -EARLY.total_seconds() <= lag <= ON_TIME.total_seconds():
            cases.append(replace(base, kind=LATE, reason=why) if why else base)
            continue
        stop = _interval_gap(due, run.start_time, ev)
        if lag > 0 and stop is not None:
            cases.append(replace(base, kind=MISSED, reason=stop))
        else:
            cases.append(replace(base, kind=UNEXPLAINED,
                                 reason=f"started {lag:g} s from the time our engine gave "
                                        f"({due.isoformat(timespec='seconds')}) and no reason "
                                        "found"))
    if ordered:
        due = due_after(ordered[-1])
        if due is not None and due <= hi:
            stop = _interval_gap(due, ev.now, ev)
            kind, reason = (MISSED, stop) if stop else (
                UNEXPLAINED, "no run since the time our engine gave, and no reason found")
            cases.append(Case(job.label, job.jobid, due, kind, reason))
    return cases


def _interval_gap(due: datetime, started: datetime, ev: Evidence) -> str | None:
    """Why an interval job did not start between `due` and `started`: paused (audit log),
    paused now, or the scheduler (re)started in between."""
    for start, end in ev.paused:
        if start <= due + ON_TIME and (end is None or end >= due - EARLY) and (
                end is None or started <= end + ON_TIME + timedelta(seconds=2)):
            return f"paused at {start.isoformat(timespec='seconds')} (audit log)"
    if not ev.job_active and started >= ev.now - ON_TIME:
        return "the job is paused now"
    for what, at in (("the server restarted", ev.postmaster_start),
                     ("the pg_cron launcher started", ev.launcher_start)):
        if at is not None and due <= at <= started:
            return f"{what} at {at.isoformat(timespec='seconds')}"
    return None


def changes_from_audit(entries: Iterable[dict[str, Any]], job: str, server: str | None
                       ) -> tuple[tuple[datetime, str, str], ...]:
    """(when, schedule before, schedule after) of the audit log's edits of `job` that changed
    its schedule, oldest first."""
    out = []
    for e in entries:
        if e.get("job") != job or e.get("action") != "edit" or e.get("outcome") != "ok":
            continue
        if server is not None and e.get("server") not in (server, None):
            continue
        before, after = e.get("before") or {}, e.get("after") or {}
        old, new = before.get("schedule"), after.get("schedule")
        if not old or not new or old == new:
            continue
        try:
            at = datetime.fromisoformat(str(e.get("at")))
        except ValueError:
            continue
        out.append((at, str(old), str(new)))
    return tuple(sorted(out))
