"""Next runs of jobs, in the scheduler's own time zone and by the server's clock."""

from __future__ import annotations

from datetime import datetime

from tui.cron import NextRunCache
from tui.models import Job, ServerFacts


def next_run(job: Job, facts: ServerFacts, cache: NextRunCache) -> datetime | None:
    """When pg_cron will next start this job; None when paused, at server start only,
    or when this role may not read the scheduler's time zone (never guessed)."""
    tz = facts.scheduler_timezone
    if not job.active or tz is None:
        return None
    return cache.next_run(job.jobid, job.schedule, facts.now, tz,
                          version=facts.pg_cron_minor or "1.6", last_start=job.last_start)
