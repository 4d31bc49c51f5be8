"""What `watch --print-rules` and `--print-unit` print: Prometheus alerting rules over the
metrics `watch --metrics` serves (the same alert names as the watch's own alerts), and a
systemd unit that keeps every secret out of its command line. Pure text."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from tui.insight.alertmanager import ALERTNAMES

#: A database or a scheduler must be down this long before Prometheus pages.
DOWN_FOR = "2m"


P = "{{ $labels.profile }}"
J = "{{ $labels.jobname }}"
D = "{{ $labels.database }}"
EXPLAIN = f"cronjobs-tui --profile {P} explain '{J}'"
DOCTOR = f"cronjobs-tui --profile {P} doctor"


def rules(grace_s: float) -> list[dict[str, str]]:
    """The alerting rules. `PgCronJobMissed` holds for any schedule: a run has been owed (the
    first time the schedule gave after the last start) for longer than the grace, so a weekly
    job that ran on Sunday stays quiet until next Sunday plus the grace, and a job every minute
    is missed two minutes after its first silent minute."""
    grace = int(grace_s)
    n = ALERTNAMES
    return [
        {"alert": n["unreachable"], "expr": "pgcron_database_up == 0", "for": DOWN_FOR,
         "severity": "critical", "explain": DOCTOR,
         "summary": f"cronjobs-tui watch cannot read the database of profile {P}"},
        {"alert": n["scheduler_down"], "for": DOWN_FOR, "severity": "critical",
         "expr": "pgcron_scheduler_up == 0 and on(profile) pgcron_database_up == 1",
         "summary": f"pg_cron's launcher is not running on {D} ({P}): no job starts",
         "explain": DOCTOR},
        {"alert": n["failing"], "severity": "warning", "explain": EXPLAIN,
         "expr": "pgcron_job_last_run_status == 0 and pgcron_job_active == 1",
         "summary": f"{J} failed its last run ({P})"},
        {"alert": n["missed"], "severity": "warning", "explain": EXPLAIN,
         "expr": "pgcron_job_active == 1 and "
                 f"time() - pgcron_job_due_timestamp_seconds > {grace}",
         "summary": f"{J} has not started at a time its schedule gave, {grace} s on "
                    f"({P})"},
        {"alert": n["stuck"], "severity": "warning", "explain": EXPLAIN,
         "expr": "pgcron_job_stuck_runs > 0",
         "summary": f"a run of {J} is going far past its usual duration ({P})"},
        {"alert": n["orphaned"], "severity": "warning", "explain": EXPLAIN,
         "expr": "pgcron_job_orphaned_runs > 0",
         "summary": f"a run of {J} is left unfinished by a backend that is gone ({P})"},
        {"alert": n["http_error"], "severity": "warning",
         "expr": "increase(pgcron_http_error_responses_total[10m]) > 0",
         "summary": f"pg_net requests on {D} were answered with errors ({P})",
         "explain": f"cronjobs-tui --profile {P} http"},
    ]


def prometheus_rules(grace_s: float) -> str:
    """The rules as a Prometheus rule file (promtool-checked in tests/insight/
    test_alert_rules.py). Strings are JSON's, which YAML reads as they are."""
    q = json.dumps
    out = ["groups:", "  - name: pg_cron", "    rules:"]
    for r in rules(grace_s):
        out += [f"      - alert: {r['alert']}", f"        expr: {q(r['expr'])}"]
        if "for" in r:
            out.append(f"        for: {r['for']}")
        out += ["        labels:", f"          severity: {r['severity']}",
                "        annotations:", f"          summary: {q(r['summary'])}",
                f"          explain: {q(r['explain'])}"]
    return "\n".join(out) + "\n"


def systemd_unit(executable: Sequence[str], selection: Sequence[str],
                 metrics: str | None) -> str:
    """A unit for `watch`: receiver URLs (secrets) come from root-only files handed over
    with LoadCredential=, so nothing secret is in ExecStart (argv is readable by every user);
    the database password is in the service user's ~/.pgpass."""
    pairs = [("--state", "${STATE_DIRECTORY}/state.json"),
             ("--alertmanager-file", "${CREDENTIALS_DIRECTORY}/alertmanager"),
             ("--webhook-file", "${CREDENTIALS_DIRECTORY}/webhooks")]
    if metrics:
        pairs.append(("--metrics", shlex.quote(metrics)))
    first = " ".join(shlex.quote(a) for a in [*executable, "watch", *selection])
    command = " \\\n    ".join([first, *(f"{k} {v}" for k, v in pairs)])
    return f"""\
# /etc/systemd/system/cronjobs-tui-watch.service
# The receivers' URLs, one a line, in files only root reads (chmod 600):
#   /etc/cronjobs-tui/alertmanager.urls  (e.g. http://alertmanager.internal:9093)
#   /etc/cronjobs-tui/webhooks.urls      (e.g. a Slack incoming webhook; may be empty)
[Unit]
Description=cronjobs-tui watch: pg_cron alerts
After=network-online.target
Wants=network-online.target

[Service]
User=cronwatch
LoadCredential=alertmanager:/etc/cronjobs-tui/alertmanager.urls
LoadCredential=webhooks:/etc/cronjobs-tui/webhooks.urls
ExecStart={command}
StateDirectory=cronjobs-tui-watch
Restart=always
RestartSec=10
NoNewPrivileges=yes
ProtectSystem=strict
ProtectHome=read-only

[Install]
WantedBy=multi-user.target
"""
