"""pg_cron's schedule language: validate, describe, next runs. Pure: no I/O, nothing of ours.

``check`` says what pg_cron would say; ``describe`` words a schedule; ``next_runs`` and
``NextRunCache`` say when it fires; ``resolve_zone`` reads cron.timezone as PostgreSQL does.
Versions are pg_cron lines '1.4', '1.5', '1.6' (also extversion, see ``parse_version``) or
releases such as '1.6.4' where behaviour differs inside a line.
"""

from .describe import describe
from .grammar import (
    PgCronVersion,
    Schedule,
    Verdict,
    check,
    is_version,
    parse,
    parse_version,
    yearly_never_fires,
)
from .nextrun import NextRunCache, can_fire, next_runs
from .zones import UnknownZone, resolve_zone, zone_problem

__all__ = [
    "NextRunCache",
    "PgCronVersion",
    "Schedule",
    "UnknownZone",
    "Verdict",
    "can_fire",
    "check",
    "describe",
    "is_version",
    "next_runs",
    "parse",
    "parse_version",
    "resolve_zone",
    "yearly_never_fires",
    "zone_problem",
]
