"""The watch's decisions, one small function each, so that each has one definition to swap for
the house's rule (issue 27's tui/rules.py) in one line. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from tui.insight.explain import Outcome

#: A run going this many times its job's median duration...
STUCK_FACTOR = 5.0
#: ...and at least this much longer than the median is stuck.
STUCK_MIN_S = 300.0
#: Outcomes in which the job did start at its time (or is waiting its turn).
STARTED = ("ran", "late", "failed", "running")


def stuck(going_s: float, median_s: float | None) -> bool:
    """A run going this long, for a job whose usual duration is `median_s`."""
    if median_s is None:
        return False
    return going_s > max(median_s * STUCK_FACTOR, median_s + STUCK_MIN_S)


def missed(o: Outcome) -> bool:
    """A scheduled time the job did not start at, for a reason that is the job's: not a time
    whose evidence is unknown (history purged, before the job existed), not a pause, not a
    standby, and not the scheduler's own downtime (an episode of the server's)."""
    if o.outcome in STARTED or o.no_history:
        return False
    return o.outcome == "unknown"


def failing_streak(statuses: Sequence[str | None]) -> int:
    """How many of the newest finished runs (oldest first) failed in a row: 0 when the newest
    succeeded."""
    n = 0
    for status in reversed(statuses):
        if status == "failed":
            n += 1
        elif status == "succeeded":
            break
    return n
