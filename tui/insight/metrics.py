"""Prometheus metrics for `watch --metrics`, with prometheus-client's own registry and server.

Labels are `jobname` and `database`, both inert and masked: a job's name is whoever scheduled
it's text, and a label is shown as is by every dashboard.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Summary, start_http_server

from tui.masking import mask
from tui.models import Job, Run, ServerFacts
from tui.text import one_line

#: pgcron_job_last_run_status values.
STATUS_VALUE = {"succeeded": 1.0, "failed": 0.0}


def _label(text: str | None) -> str:
    return one_line(mask(text) or "", 120)


class Metrics:
    def __init__(self) -> None:
        r = self.registry = CollectorRegistry()
        job = ["jobname", "database"]
        self.up = Gauge("pgcron_scheduler_up", "1 when the pg_cron launcher runs, 0 when it "
                        "does not or the database is unreachable", ["database"], registry=r)
        self.last_success = Gauge("pgcron_job_last_success_timestamp_seconds",
                                  "end of the job's last succeeded run seen (Unix time)", job,
                                  registry=r)
        self.last_status = Gauge("pgcron_job_last_run_status",
                                 "the job's last finished run: 1 succeeded, 0 failed", job,
                                 registry=r)
        self.runs = Counter("pgcron_job_runs_total", "finished runs seen by this watch",
                            [*job, "status"], registry=r)
        self.duration = Summary("pgcron_job_run_duration_seconds",
                                "duration of finished runs seen by this watch", job, registry=r)
        self.lag = Gauge("pgcron_job_start_lag_seconds",
                         "the last run's start minus the time its schedule gave", job,
                         registry=r)
        self.missed_total = Counter("pgcron_job_missed_runs_total",
                                    "scheduled times with no run after the grace period", job,
                                    registry=r)
        self._database: str | None = None
        self._facts: ServerFacts | None = None
        self._jobs: dict[int, Job] = {}

    def serve(self, host: str, port: int) -> Any:
        return start_http_server(port, addr=host, registry=self.registry)

    def scheduler(self, facts: ServerFacts, jobs: list[Job]) -> None:
        self._database = _label(facts.database)
        self._facts = facts
        self._jobs = {j.jobid: j for j in jobs}
        if facts.scheduler_alive is not None:
            self.up.labels(self._database).set(1 if facts.scheduler_alive else 0)

    def unreachable(self) -> None:
        if self._database is not None:
            self.up.labels(self._database).set(0)

    def finished(self, run: Run, job: Job | None) -> None:
        labels = (_label(run.job_label), _label(run.database or (job.database if job else "")))
        status = run.status or "unknown"
        self.runs.labels(*labels, status).inc()
        if status in STATUS_VALUE:
            self.last_status.labels(*labels).set(STATUS_VALUE[status])
        if run.duration is not None:
            self.duration.labels(*labels).observe(max(run.duration, 0.0))
        if status == "succeeded" and run.end_time is not None:
            self.last_success.labels(*labels).set(run.end_time.timestamp())
        lag = self._lag(run, job)
        if lag is not None:
            self.lag.labels(*labels).set(lag)

    def missed(self, event: Any) -> None:
        self.missed_total.labels(_label(event.job), _label(event.database)).inc()

    def _lag(self, run: Run, job: Job | None) -> float | None:
        """Start minus the newest time the schedule gave at or before it (a manual run, or
        one far from any time, has none)."""
        facts = self._facts
        if job is None or facts is None or run.start_time is None:
            return None
        tz = facts.scheduler_timezone
        if tz is None:
            return None
        from tui.insight.explain import scheduled_times

        try:
            times = scheduled_times(job.schedule, run.start_time - timedelta(hours=1),
                                    run.start_time + timedelta(seconds=5), tz,
                                    facts.pg_cron_grammar or "1.6")
        except Exception:  # noqa: BLE001  # an unreadable zone: no lag, the rest still works
            return None
        if not times:
            return None
        return round((run.start_time - times[-1]).total_seconds(), 3)
