"""What will run in the next hours: pure, from the jobs, their usual durations and the zone.

Minutes are the scheduler's (its zone, its pg_cron release's reading of each schedule); how
many go at once counts the runs started then plus those still expected to run (their median
duration), against cron.max_running_jobs. A run due while the job's previous one still goes
waits for it (pg_cron runs a job once at a time): a usual duration as long as the gap to the
next time means the job queues behind itself. Around a DST change the launcher reads local
wall-clock time each minute: a skipped local time never fires, a repeated one fires twice.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any

from tui.cron import parse, resolve_zone
from tui.insight.explain import scheduled_times
from tui.models import Job


@dataclass(frozen=True)
class Minute:
    at: datetime
    jobs: tuple[str, ...]  # the jobs that start then
    at_once: int  # runs expected to go then: these plus earlier ones still running
    over_limit: bool


@dataclass(frozen=True)
class Overlap:
    job: str
    median_s: float
    next_start: datetime
    gap_s: float  # to the time after next_start


@dataclass(frozen=True)
class DstChange:
    at: datetime  # the instant the offset changes
    kind: str  # 'gap' (local times skipped) or 'repeat' (local times happen twice)
    local_from: str  # the local wall-clock span affected
    local_to: str
    jobs: tuple[tuple[str, str], ...]  # (job, what it will do)


@dataclass
class Timeline:
    start: datetime
    hours: int
    zone: str
    max_running_jobs: int | None
    minutes: list[Minute] = field(default_factory=list)
    overlaps: list[Overlap] = field(default_factory=list)
    dst: list[DstChange] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # jobs not placed, and why

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": self.start.isoformat(), "hours": self.hours, "zone": self.zone,
            "max_running_jobs": self.max_running_jobs,
            "minutes": [{"at": m.at.isoformat(), "jobs": list(m.jobs), "at_once": m.at_once,
                         "over_limit": m.over_limit} for m in self.minutes],
            "overlaps": [{"job": o.job, "median_s": o.median_s,
                          "next_start": o.next_start.isoformat(), "gap_s": o.gap_s}
                         for o in self.overlaps],
            "dst": [{"at": d.at.isoformat(), "kind": d.kind, "local_from": d.local_from,
                     "local_to": d.local_to,
                     "jobs": [{"job": j, "does": w} for j, w in d.jobs]} for d in self.dst],
            "skipped": self.skipped,
        }


def _transitions(tz: Any, start: datetime, end: datetime) -> list[tuple[datetime, timedelta,
                                                                         timedelta]]:
    """(instant, offset before, offset after) of each offset change in [start, end]."""
    out = []
    step = timedelta(minutes=30)
    t = start
    while t < end:
        nxt = min(t + step, end)
        before, after = t.astimezone(tz).utcoffset(), nxt.astimezone(tz).utcoffset()
        if before != after:
            assert before is not None and after is not None  # aware times have offsets
            lo, hi = t, nxt
            while hi - lo > timedelta(seconds=1):
                mid = lo + (hi - lo) / 2
                if mid.astimezone(tz).utcoffset() == before:
                    lo = mid
                else:
                    hi = mid
            out.append((hi.replace(microsecond=0), before, after))
        t = nxt
    return out


def _day_ok(s: Any, day: date) -> bool:
    dom_ok = day.day in s.doms or (
        s.dom_last and day.day == calendar.monthrange(day.year, day.month)[1])
    dow_ok = (day.weekday() + 1) % 7 in s.dows
    if s.dom_star or s.dow_star:
        return dom_ok and dow_ok
    return dom_ok or dow_ok


def _matches(s: Any, naive: datetime) -> bool:
    return (naive.minute in s.minutes and naive.hour in s.hours and naive.month in s.months
            and _day_ok(s, naive.date()))


def build(jobs: Sequence[Job], usual: Mapping[int, Any], now: datetime, hours: int, tz: str,
          version: str, max_running_jobs: int | None) -> Timeline:
    zone = resolve_zone(tz)
    end = now + timedelta(hours=hours)
    plan = Timeline(now, hours, tz, max_running_jobs)
    starts: dict[datetime, list[str]] = {}
    busy: list[tuple[datetime, datetime]] = []  # expected (start, end) of every run
    parsed: list[tuple[Job, Any]] = []
    for job in jobs:
        if not job.active:
            continue
        s = parse(job.schedule, version)
        if s is None or s.kind != "cron":
            if s is not None and s.kind == "seconds":
                plan.skipped.append(f"{job.label}: every {s.seconds} s (not per minute)")
            continue
        parsed.append((job, s))
        # One time before the window's end more, for the gap after the last one.
        times = scheduled_times(job.schedule, now, end + timedelta(days=1), zone, version)
        inside = [t for t in times if t <= end]
        med = usual.get(job.jobid)
        for t in inside:
            starts.setdefault(t, []).append(job.label)
            if med is not None:
                busy.append((t, t + timedelta(seconds=med.median_s)))
        if med is not None and inside:
            for a, b in zip(times, times[1:]):
                if a > end:
                    break
                gap = (b - a).total_seconds()
                if med.median_s >= gap:
                    plan.overlaps.append(Overlap(job.label, round(med.median_s, 1), a, gap))
                    break
    busy.sort()
    for at in sorted(starts):
        names = tuple(sorted(starts[at]))
        # Started earlier and expected to go on past this minute (by the median).
        going = sum(1 for s, e in busy if s < at < e)
        at_once = len(names) + going
        over = max_running_jobs is not None and at_once > max_running_jobs
        plan.minutes.append(Minute(at.astimezone(zone), names, at_once, over))
    for instant, before, after in _transitions(zone, now, end):
        plan.dst.append(_dst(instant, before, after, zone, parsed))
    return plan


def _dst(instant: datetime, before: timedelta, after: timedelta, zone: Any,
         parsed: Sequence[tuple[Job, Any]]) -> DstChange:
    jump = after - before
    local_before = (instant.astimezone(timezone.utc) + before).replace(tzinfo=None)
    if jump > timedelta(0):
        kind, lo, hi = "gap", local_before, local_before + jump
    else:
        kind, lo, hi = "repeat", local_before + jump, local_before
    affected = []
    for job, s in parsed:
        t, hits = lo, 0
        while t < hi:
            hits += _matches(s, t)
            t += timedelta(minutes=1)
        if hits:
            does = (f"skips {hits} time(s): those local times do not exist that day"
                    if kind == "gap" else
                    f"runs {hits} time(s) twice: those local times happen twice")
            affected.append((job.label, does))
    return DstChange(instant.astimezone(zone), kind, f"{lo:%Y-%m-%d %H:%M}",
                     f"{hi:%Y-%m-%d %H:%M}", tuple(affected))


def render(plan: Timeline, *, width: int | None = 100) -> str:
    """The plan as text; job lists cut to `width` (None: whole, for the command line, which
    wraps them to the terminal)."""
    from tui.text import one_line

    room, name_room = (None, None) if width is None else (width - 30, 40)
    limit = plan.max_running_jobs
    start = plan.start.astimezone(resolve_zone(plan.zone))
    lines = [f"Next {plan.hours} h from {start:%Y-%m-%d %H:%M} ({plan.zone}), "
             "cron.max_running_jobs = "
             f"{limit if limit is not None else 'unknown (not readable by this role)'}"]
    crowded = [m for m in plan.minutes if m.over_limit]
    lines.append(f"{len(plan.minutes)} minutes with starts; {len(crowded)} will queue "
                 "(more runs at once than the limit)")
    for m in crowded[:50]:
        lines.append(f"  {m.at:%Y-%m-%d %H:%M}  {m.at_once} at once > {limit}: "
                     + one_line(", ".join(m.jobs), room))
    busiest = sorted(plan.minutes, key=lambda m: (-m.at_once, m.at))[:5]
    if busiest:
        lines.append("Busiest minutes:")
        for m in busiest:
            lines.append(f"  {m.at:%Y-%m-%d %H:%M}  {m.at_once} at once: "
                         + one_line(", ".join(m.jobs), room))
    if plan.overlaps:
        lines.append("Jobs whose usual duration reaches their next start (they queue behind "
                     "themselves):")
        for o in plan.overlaps:
            lines.append(f"  {one_line(o.job, name_room)}: median {o.median_s:g} s, next start "
                         f"{o.next_start:%H:%M}, then {o.gap_s:g} s to the one after")
    for d in plan.dst:
        what = "skipped" if d.kind == "gap" else "repeated"
        lines.append(f"DST at {d.at:%Y-%m-%d %H:%M %Z}: local {d.local_from} to {d.local_to} "
                     f"{what}")
        for job, does in d.jobs:
            lines.append(f"  {one_line(job, name_room)} {does}")
        if not d.jobs:
            lines.append("  no job has a time in that span")
    for s in plan.skipped:
        lines.append(f"Not placed: {one_line(s, width)}")
    return "\n".join(lines)
