"""pg_cron's schedule language: validate, describe, next runs. Pure: no I/O, nothing of ours.

``check`` says what pg_cron would say; ``describe`` words a schedule; ``next_runs`` and
``NextRunCache`` say when it fires; ``resolve_zone`` reads cron.timezone as PostgreSQL does;
``standard.compare`` sets ordinary cron's reading (croniter) beside pg_cron's.
Versions are pg_cron lines '1.4', '1.5', '1.6' (also extversion, see ``parse_version``) or
releases such as '1.6.4' where behaviour differs inside a line, with '+match_dom_and_dow'
appended (``with_dom_and_dow``) when the server's cron.match_dom_and_dow is on.
"""

from .describe import describe
from .dialect import check, dialect_warnings
from .grammar import parse, yearly_never_fires
from .model import Schedule, Verdict, can_fire
from .nextrun import NextRunCache, next_runs
from .versions import PgCronVersion, is_version, parse_version, split_dialect, with_dom_and_dow
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
    "dialect_warnings",
    "is_version",
    "next_runs",
    "parse",
    "parse_version",
    "resolve_zone",
    "split_dialect",
    "with_dom_and_dow",
    "yearly_never_fires",
    "zone_problem",
]
