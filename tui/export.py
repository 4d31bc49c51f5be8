"""Jobs and runs as plain records, and runs written as CSV or JSON.

Used by the `jobs` and `runs` subcommands and by the TUI's export, so both write the same
thing: commands and messages masked (tui/masking.py), times in ISO 8601, and CSV cells made
inert and safe to open in a spreadsheet.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.cron import NextRunCache
from tui.format import iso
from tui.masking import mask
from tui.models import Job, ServerFacts
from tui.text import inert
from tui.upcoming import next_run, schedule_warnings

if TYPE_CHECKING:
    from tui.db import Database
    from tui.models import Run

RUN_KEYS = ("runid", "jobid", "jobname", "status", "return_message", "start_time", "end_time")


def job_records(jobs: Sequence[Job], facts: ServerFacts) -> list[dict[str, Any]]:
    """Jobs as plain records: commands masked, next runs in ISO 8601 (null when paused or
    unknown), with the warnings about their schedules."""
    cache = NextRunCache()
    return [{
        "jobid": j.jobid, "jobname": j.jobname, "schedule": j.schedule,
        "command": mask(j.command), "database": j.database, "username": j.username,
        "active": j.active, "next_run": iso(next_run(j, facts, cache)),
        "last_status": j.last_status, "last_start": iso(j.last_start),
        "warnings": schedule_warnings(j, facts),
        # False: no run among the newest runs searched (no index), so null is not "never".
        "last_run_known": j.last_run_known,
    } for j in jobs]


def run_records(runs: Sequence[Any], outcomes: dict[int, Any] | None = None,
                lags: dict[int, float | None] | None = None) -> list[dict[str, Any]]:
    """Runs as plain records for export: messages masked, times in ISO 8601. With `outcomes`
    (tui.http_jobs.outcome), also pg_net's answer to HTTP runs: http_status, http_error
    (masked, inert) and http_note (null for runs that are not HTTP runs, "" when matched, else
    why not)."""
    records = [{
        "runid": r.runid, "jobid": r.jobid, "jobname": r.jobname, "status": r.status,
        "return_message": mask(r.return_message), "start_time": iso(r.start_time),
        "end_time": iso(r.end_time),
    } for r in runs]
    if outcomes is not None:
        for record in records:
            got = outcomes.get(record["runid"])
            record["http_status"] = got.status if got else None
            record["http_error"] = inert(mask(got.error)) if got and got.error else None
            record["http_note"] = got.note if got else None
    if lags is not None:  # start lag in seconds; null: no scheduled minute (interval job)
        for record in records:
            record["lag_s"] = lags.get(record["runid"])
    return records


#: A spreadsheet opening the CSV runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_cell(value: Any) -> Any:
    """Job names and run messages are written by whoever may schedule a job: inert (a CSV
    is also read with `cat`), and a leading quote keeps '=HYPERLINK(...)' text in a
    spreadsheet (the OWASP advice for CSV)."""
    if isinstance(value, str):
        value = inert(value)
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def write_runs(runs: Sequence[Any], fmt: str, out: Any,
               outcomes: dict[int, Any] | None = None,
               lags: dict[int, float | None] | None = None) -> None:
    """Runs to `out` (a text stream) as CSV (a header row, then one row a run) or as a
    JSON array; every message masked. Used by `runs --format` and the TUI's export."""
    if fmt == "json":
        records = run_records(runs, outcomes, lags)
        # ensure_ascii keeps C1 controls and bidi overrides escaped, so output stays inert.
        out.write(json.dumps(records, indent=2, ensure_ascii=True) + "\n")
    elif fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=RUN_KEYS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: inert_cell(v) for k, v in r.items()} for r in run_records(runs))
    else:
        raise ValueError(f"unknown export format {fmt!r}")


#: The TUI's export writes at most this many runs (newest first).
EXPORT_MAX = 100_000


async def recent_runs(db: Database, *, jobid: int | None, status: str | None,
                      most: int = EXPORT_MAX) -> list[Run]:
    """The newest `most` runs of a filter (a job, a status; None: any), read a page at a
    time so that no one query holds the whole history."""
    runs: list[Run] = []
    before = None
    while len(runs) < most:
        page = await db.runs_recent(limit=1000, before=before, jobid=jobid, status=status)
        runs += page
        if len(page) < 1000:
            break
        before = page[-1].runid
    return runs[:most]


def write_runs_file(path: Path, runs: Sequence[Any]) -> str:
    """Runs to `path`, as JSON when it ends in .json, else CSV; the format written. Written
    beside, then renamed: a full disk or a broken write never leaves a half-written export
    under the name asked for (OSError then, with nothing left behind)."""
    fmt = "json" if path.suffix.lower() == ".json" else "csv"
    part = path.with_name(path.name + ".part")
    try:
        with part.open("w", encoding="utf-8", newline="") as out:
            write_runs(runs, fmt, out)
        part.replace(path)
    except OSError:
        part.unlink(missing_ok=True)
        raise
    return fmt
