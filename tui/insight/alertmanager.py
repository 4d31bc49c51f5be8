"""Episodes as Prometheus Alertmanager alerts (its v2 API, `POST /api/v2/alerts`). Pure.

Labels say what the problem is and nothing of the watcher that saw it, so two watchers of one
database (run for redundancy) send the same labels and Alertmanager keeps one alert. Grouping,
silences, inhibition and routing are Alertmanager's.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tui.insight.episodes import Change, Episode

#: The alert names, the same in `--print-rules`.
ALERTNAMES = {
    "failing": "PgCronJobFailing",
    "missed": "PgCronJobMissed",
    "stuck": "PgCronJobStuck",
    "orphaned": "PgCronJobOrphaned",
    "http_error": "PgCronHttpError",
    "scheduler_down": "PgCronSchedulerDown",
    "unreachable": "PgCronDatabaseUnreachable",
}
SEVERITY = {"scheduler_down": "critical", "unreachable": "critical"}
API_PATH = "/api/v2/alerts"


def alerts_url(base: str) -> str:
    """Where to POST for an Alertmanager at `base` (its root, or the API path itself)."""
    base = base.rstrip("/")
    return base if base.endswith(API_PATH) else base + API_PATH


def labels(ep: Episode) -> dict[str, str]:
    out = {"alertname": ALERTNAMES[ep.kind], "profile": ep.profile,
           "severity": SEVERITY.get(ep.kind, "warning")}
    if ep.database:
        out["database"] = ep.database
    if ep.job:
        out["jobname"] = ep.job
    return out


def alert(ep: Episode, message: str, *, ends: datetime) -> dict[str, Any]:
    # The episode's start is the server's clock, its end this host's: Alertmanager refuses an
    # end before the start, which a skew between the two clocks would give. The end stays
    # (an end in the future would not resolve the alert): the start gives way.
    starts = min(datetime.fromisoformat(ep.opened), ends - timedelta(seconds=1))
    return {
        "labels": labels(ep),
        "annotations": {"summary": message, "description": ep.latest,
                        "explain": ep.hint, "episode": ep.id,
                        "count": str(ep.count)},
        "startsAt": starts.isoformat(),
        "endsAt": ends.isoformat(),
    }


def body(open_episodes: list[Episode], resolved: list[Change], now: datetime,
         ttl: timedelta) -> list[dict[str, Any]]:
    """Every open episode as firing until `now + ttl` (refreshed each pass, so an alert whose
    watch went away ends by itself), and each resolved one ended at its resolution."""
    out = [alert(ep, ep.latest, ends=now + ttl) for ep in open_episodes]
    firing = {(ep.key) for ep in open_episodes}
    for change in resolved:
        if change.episode.key in firing:
            continue  # opened again since: the firing one stands
        out.append(alert(change.episode, change.message,
                         ends=datetime.fromisoformat(change.at)))
    return out
