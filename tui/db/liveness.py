"""Which unfinished runs are orphaned (tui/rules.py's is_orphaned), read for the runs shown:
each job's last run and the run stream's unfinished rows. One query of primary-key probes,
asked only when some run shown has not finished."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace

from tui import rules
from tui.db.client import Database
from tui.models import Job, Run


async def orphaned(db: Database, runids: Iterable[int]) -> dict[int, bool | None]:
    """runid -> orphaned (True, False, or None when it cannot be told) for these runs; runs
    gone meanwhile (a purge) are left out."""
    ids = sorted(set(runids))
    if not ids:
        return {}
    rows = await db.fetch("runs_liveness", {"ids": ids})
    return {r["runid"]: rules.is_orphaned(r["status"], r["job_pid"], r["pid_alive"],
                                          r["before_server_start"]) for r in rows}


async def judge_jobs(db: Database, jobs: Sequence[Job]) -> list[Job]:
    """The jobs with `last_orphaned` set for an unfinished last run (None otherwise); a job
    whose verdict did not change keeps its object."""
    wanted = [j.last_runid for j in jobs
              if j.last_status in rules.UNFINISHED and j.last_runid is not None]
    verdicts = await orphaned(db, wanted) if wanted else {}
    out = []
    for job in jobs:
        verdict = (verdicts.get(job.last_runid) if job.last_status in rules.UNFINISHED
                   and job.last_runid is not None else None)
        out.append(job if job.last_orphaned == verdict else replace(job, last_orphaned=verdict))
    return out


async def judge_runs(db: Database, runs: Sequence[Run]) -> list[Run]:
    """The runs with `orphaned` set for the unfinished ones."""
    wanted = [r.runid for r in runs if r.status in rules.UNFINISHED]
    if not wanted:
        return list(runs)
    verdicts = await orphaned(db, wanted)
    return [replace(r, orphaned=verdicts.get(r.runid)) if r.runid in verdicts else r
            for r in runs]
