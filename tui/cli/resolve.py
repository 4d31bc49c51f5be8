"""JOB, as every subcommand that takes one reads it: `#id`, or a job's exact name.

A name several visible jobs share is refused, naming each of them, never one picked
silently: `pause nightly` and `runs --job nightly` must mean the same job or none. A bare
number is a name first (jobs may be named `42`), else an id, as the TUI's filter reads it.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.db import DatabaseError
from tui.models import Job, ServerFacts
from tui.text import one_line


class JobNotResolved(DatabaseError):
    """JOB names no visible job, or several: a refusal (exit 2), nothing done."""


def resolve_job(wanted: str, jobs: Sequence[Job], facts: ServerFacts | None = None) -> Job:
    """The one job `wanted` names among `jobs` (those this role can see)."""
    if wanted.startswith("#") and wanted[1:].isdigit():
        matches = [j for j in jobs if j.jobid == int(wanted[1:])]
    else:
        matches = [j for j in jobs if j.jobname == wanted] or [
            j for j in jobs if wanted.isascii() and wanted.isdigit() and j.jobid == int(wanted)]
    shown = one_line(wanted, 60)
    if len(matches) > 1:
        each = ", ".join(f"#{j.jobid} ({one_line(j.username, 30)}, {one_line(j.database, 30)})"
                         for j in sorted(matches, key=lambda j: j.jobid))
        raise JobNotResolved(f"{len(matches)} jobs are named '{shown}': {each}; name one by "
                             "its #id")
    if matches:
        return matches[0]
    what = "no job has the id" if wanted.startswith("#") else "no job named"
    text = f"{what} '{shown}' visible to this role"
    if facts is not None and not facts.sees_all:
        text += (f" (role {one_line(facts.current_user, 40)} sees only its own jobs under "
                 "pg_cron's row-level security: it may belong to another role)")
    raise JobNotResolved(text)
