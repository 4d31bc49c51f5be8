"""pg_cron's schedule language: validate, describe, next runs. Pure: no I/O, nothing of ours.

``check`` says what pg_cron would say; ``describe`` words a schedule; ``next_runs`` and
``NextRunCache`` say when it fires. Versions are pg_cron's SQL versions '1.4', '1.5', '1.6'
(see ``parse_version``).
"""

from .describe import describe
from .grammar import PgCronVersion, Schedule, Verdict, check, parse, parse_version
from .nextrun import NextRunCache, can_fire, next_runs

__all__ = [
    "NextRunCache",
    "PgCronVersion",
    "Schedule",
    "Verdict",
    "can_fire",
    "check",
    "describe",
    "next_runs",
    "parse",
    "parse_version",
]
