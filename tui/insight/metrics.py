"""Prometheus metrics for `watch --metrics`, served by prometheus-client from the last pass.

A scrape never queries: the collector reads what the last pass of each database left here.
Labels are `profile`, `database` and `jobname`, inert and masked: a job's name is whoever
scheduled it's text, and a label is shown as is by every dashboard. The schedule's previous and
next fire times are here as timestamps, and the time from which a run is owed (the first time
the schedule gave after the last start), so a rule can say "no run since it should last have
run, plus a grace" for a job every minute and a weekly one alike (tui/insight/alert_rules.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    SummaryMetricFamily,
)

from tui.cron import NextRunCache
from tui.insight.explain import scheduled_times
from tui.insight.observe import Snapshot
from tui.masking import mask
from tui.models import Job, Run, ServerFacts
from tui.text import one_line

#: pgcron_job_last_run_status values.
STATUS_VALUE = {"succeeded": 1.0, "failed": 0.0}
#: The previous fire time is looked for this far back, nearest first (weekly, monthly, yearly).
PREVIOUS_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=8),
                    timedelta(days=32), timedelta(days=367))
JOB_LABELS = ["profile", "database", "jobname"]


@lru_cache(maxsize=1 << 16)
def label(text: str | None) -> str:
    """A label's value; kept, since each pass and each scrape label every job again."""
    return one_line(mask(text) or "", 120)


def previous_fire(job: Job, facts: ServerFacts) -> datetime | None:
    """The newest time at or before now at which the schedule started (or should have
    started) the job; None for intervals, @reboot or an unknown zone."""
    tz = facts.scheduler_timezone
    if tz is None:
        return None
    for window in PREVIOUS_WINDOWS:
        try:
            times = scheduled_times(job.schedule, facts.now - window, facts.now, tz,
                                    facts.pg_cron_grammar or "1.6")
        except Exception:  # noqa: BLE001  # an unreadable zone: no figure, the rest works
            return None
        if times:
            return times[-1]
    return None


def due_at(job: Job, facts: ServerFacts, first_seen: datetime | None) -> datetime | None:
    """The first time the schedule gave after the job's last start (or, with no run known,
    after this watch first saw it): from then on a run is owed. A weekly job that ran on
    Sunday is owed one next Sunday; a job every minute, a minute after its last start."""
    tz = facts.scheduler_timezone
    after = job.last_start or first_seen
    if tz is None or after is None:
        return None
    from tui.cron import next_runs

    try:
        times = next_runs(job.schedule, after, tz, 1, version=facts.pg_cron_grammar or "1.6",
                          last_start=job.last_start)
    except Exception:  # noqa: BLE001  # an unreadable zone: no figure, the rest works
        return None
    return times[0] if times else None


@dataclass
class _JobFigures:
    runs: dict[str, float] = field(default_factory=dict)  # status: count
    duration_sum: float = 0.0
    duration_count: int = 0
    missed: int = 0
    last_success: float | None = None
    lag: float | None = None


@dataclass
class _Database:
    """One profile's figures: the last pass's and the counters kept since the start."""

    database: str = ""
    up: bool = False
    facts: ServerFacts | None = None
    jobs: list[Job] = field(default_factory=list)
    jobs_seen: dict[str, str] = field(default_factory=dict)
    figures: dict[tuple[str, str], _JobFigures] = field(default_factory=dict)
    stuck: dict[int, int] = field(default_factory=dict)
    orphaned: dict[int, int] = field(default_factory=dict)
    http_errors: int = 0
    #: jobid: previous, next and due fire times, worked out at the pass (a scrape only reads).
    fires: dict[int, tuple[datetime | None, ...]] = field(default_factory=dict)
    #: jobid: what `fires` was worked out from, and the times (Metrics._fires).
    fire_cache: dict[int, tuple[tuple[Any, ...], tuple[datetime | None, ...]]] = field(
        default_factory=dict)
    next_cache: NextRunCache = field(default_factory=NextRunCache)


class Metrics:
    """Fed by the watch after each pass (`update`), read by prometheus-client at a scrape."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(self)
        self._dbs: dict[str, _Database] = {}

    def serve(self, host: str, port: int) -> Any:
        return start_http_server(port, addr=host, registry=self.registry)

    def update(self, profile: str, snap: Snapshot, jobs_seen: dict[str, str]) -> None:
        d = self._dbs.setdefault(profile, _Database())
        d.up = snap.up
        if not snap.up or snap.facts is None:
            return
        seen = {int(k): datetime.fromisoformat(v) for k, v in jobs_seen.items()}
        zone = (snap.facts.scheduler_timezone, snap.facts.pg_cron_grammar)
        d.fires = {j.jobid: self._fires(d, j, snap.facts, zone, seen.get(j.jobid))
                   for j in snap.jobs}
        d.database, d.facts, d.jobs = label(snap.facts.database), snap.facts, list(snap.jobs)
        d.jobs_seen, d.stuck, d.orphaned = dict(jobs_seen), dict(snap.stuck), dict(snap.orphaned)
        d.http_errors += snap.http_errors
        by_id = {j.jobid: j for j in snap.jobs}
        for run, job in snap.finished:
            self._finished(d, run, job)
        for jobid, n in snap.missed.items():
            job = by_id.get(jobid)
            if job is not None:
                self._fig(d, job.database, job.label).missed += n
        for job in snap.jobs:
            fig = self._fig(d, job.database, job.label)
            if job.last_status == "succeeded" and job.last_end is not None:
                end = job.last_end.timestamp()
                fig.last_success = max(fig.last_success or end, end)

    @staticmethod
    def _fires(d: _Database, job: Job, facts: ServerFacts, zone: tuple[str | None, ...],
               first_seen: datetime | None) -> tuple[datetime | None, ...]:
        """The job's previous, next and due fire times, worked out again only when what they
        depend on changed or the next time came: at 10,000 jobs each pass would otherwise
        spend seconds of CPU on schedules."""
        from tui.upcoming import next_run

        key = (job.schedule, job.active, job.last_start, first_seen, *zone)
        hit = d.fire_cache.get(job.jobid)
        if hit is not None and hit[0] == key:
            prev, nxt, _ = hit[1]
            # The times stand until the next one comes (or for ever: a schedule that never
            # fires, an interval's with no start).
            if (prev is None or prev <= facts.now) and (
                    (nxt is not None and facts.now < nxt) or (nxt is None and prev is None)):
                return hit[1]
        fires = (previous_fire(job, facts), next_run(job, facts, d.next_cache),
                 due_at(job, facts, first_seen))
        d.fire_cache[job.jobid] = (key, fires)
        return fires

    def _fig(self, d: _Database, database: str | None, job: str) -> _JobFigures:
        return d.figures.setdefault((label(database), label(job)), _JobFigures())

    def _finished(self, d: _Database, run: Run, job: Job | None) -> None:
        fig = self._fig(d, run.database or (job.database if job else ""), run.job_label)
        status = run.status or "unknown"
        fig.runs[status] = fig.runs.get(status, 0) + 1
        if run.duration is not None:
            fig.duration_sum += max(run.duration, 0.0)
            fig.duration_count += 1
        if status == "succeeded" and run.end_time is not None:
            end = run.end_time.timestamp()
            fig.last_success = max(fig.last_success or end, end)
        lag = self._lag(d.facts, run, job)
        if lag is not None:
            fig.lag = lag

    @staticmethod
    def _lag(facts: ServerFacts | None, run: Run, job: Job | None) -> float | None:
        """Start minus the newest time the schedule gave at or before it (a manual run, or
        one far from any time, has none)."""
        if job is None or facts is None or run.start_time is None:
            return None
        tz = facts.scheduler_timezone
        if tz is None:
            return None
        try:
            times = scheduled_times(job.schedule, run.start_time - timedelta(hours=1),
                                    run.start_time + timedelta(seconds=5), tz,
                                    facts.pg_cron_grammar or "1.6")
        except Exception:  # noqa: BLE001  # an unreadable zone: no lag, the rest still works
            return None
        return round((run.start_time - times[-1]).total_seconds(), 3) if times else None

    def collect(self) -> Iterator[Any]:
        db_up = GaugeMetricFamily("pgcron_database_up", "1 when the last pass read the "
                                  "database, 0 when it was unreachable", labels=["profile"])
        up = GaugeMetricFamily("pgcron_scheduler_up", "1 when the pg_cron launcher runs, 0 "
                               "when it does not or the database is unreachable",
                               labels=["profile", "database"])
        g = {name: GaugeMetricFamily(name, doc, labels=JOB_LABELS) for name, doc in (
            ("pgcron_job_active", "1 when the job is active (scheduled), 0 when paused"),
            ("pgcron_job_previous_fire_timestamp_seconds",
             "the newest time the schedule gave at or before the last pass (Unix time)"),
            ("pgcron_job_next_fire_timestamp_seconds",
             "the next time the schedule gives (Unix time)"),
            ("pgcron_job_due_timestamp_seconds",
             "the first time the schedule gave after the job's last start (or, with no run "
             "known, after this watch first saw it): a run is owed from then (Unix time)"),
            ("pgcron_job_last_start_timestamp_seconds",
             "the start of the job's last run (Unix time)"),
            ("pgcron_job_last_success_timestamp_seconds",
             "end of the job's last succeeded run seen (Unix time)"),
            ("pgcron_job_last_run_status", "the job's last finished run: 1 succeeded, 0 "
                                           "failed"),
            ("pgcron_job_start_lag_seconds",
             "the last run's start minus the time its schedule gave"),
            ("pgcron_job_stuck_runs", "runs of the job going far past its usual duration"),
            ("pgcron_job_orphaned_runs", "unfinished runs of the job whose backend is gone"))}
        runs = CounterMetricFamily("pgcron_job_runs_total", "finished runs seen by this watch",
                                   labels=[*JOB_LABELS, "status"])
        duration = SummaryMetricFamily("pgcron_job_run_duration_seconds",
                                       "duration of finished runs seen by this watch",
                                       labels=JOB_LABELS)
        missed = CounterMetricFamily("pgcron_job_missed_runs_total", "scheduled times with no "
                                     "run after the grace period", labels=JOB_LABELS)
        http = CounterMetricFamily("pgcron_http_error_responses_total", "pg_net answers that "
                                   "are errors, seen by this watch",
                                   labels=["profile", "database"])
        for profile, d in sorted(self._dbs.items()):
            db_up.add_metric([profile], 1.0 if d.up else 0.0)
            if d.facts is None:
                continue
            alive = d.facts.scheduler_alive
            if not d.up or alive is not None:
                up.add_metric([profile, d.database], 1.0 if d.up and alive else 0.0)
            http.add_metric([profile, d.database], d.http_errors)
            for job in d.jobs:
                key = [profile, label(job.database), label(job.label)]
                g["pgcron_job_active"].add_metric(key, 1.0 if job.active else 0.0)
                prev, nxt, due = d.fires.get(job.jobid, (None, None, None))
                if prev is not None:
                    g["pgcron_job_previous_fire_timestamp_seconds"].add_metric(
                        key, prev.timestamp())
                if nxt is not None:
                    g["pgcron_job_next_fire_timestamp_seconds"].add_metric(key, nxt.timestamp())
                if due is not None:
                    g["pgcron_job_due_timestamp_seconds"].add_metric(key, due.timestamp())
                if job.last_start is not None:
                    g["pgcron_job_last_start_timestamp_seconds"].add_metric(
                        key, job.last_start.timestamp())
                if job.last_status in STATUS_VALUE:
                    g["pgcron_job_last_run_status"].add_metric(key,
                                                               STATUS_VALUE[job.last_status])
                g["pgcron_job_stuck_runs"].add_metric(key, d.stuck.get(job.jobid, 0))
                g["pgcron_job_orphaned_runs"].add_metric(key, d.orphaned.get(job.jobid, 0))
            for (database, jobname), fig in sorted(d.figures.items()):
                key = [profile, database, jobname]
                for status, n in sorted(fig.runs.items()):
                    runs.add_metric([*key, status], n)
                if fig.duration_count:
                    duration.add_metric(key, fig.duration_count, fig.duration_sum)
                if fig.missed:
                    missed.add_metric(key, fig.missed)
                if fig.last_success is not None:
                    g["pgcron_job_last_success_timestamp_seconds"].add_metric(
                        key, fig.last_success)
                if fig.lag is not None:
                    g["pgcron_job_start_lag_seconds"].add_metric(key, fig.lag)
        yield db_up
        yield up
        yield from g.values()
        yield runs
        yield duration
        yield missed
        yield http
