"""`watch --print-rules` loaded by Prometheus's own tool: `promtool check rules`, and `promtool
test rules` with series that fire and resolve every alert, among them a weekly job that ran on
Sunday and must stay quiet until the next Sunday plus its grace."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tui.insight.alert_rules import rules
from tui.insight.alertmanager import ALERTNAMES

PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed "
                                    "(.ci/setup --test installs Debian's prometheus)")
GRACE = 120
PROD = {"profile": "prod", "database": "postgres"}
WEEKLY = {**PROD, "jobname": "weekly-adapter-check"}
MINUTELY = {**PROD, "jobname": "queue-drain"}
#: One sample a minute; Sunday 03:00 of the first and the second week, in minutes from 0
#: (time 0 is 1970-01-01 00:00 UTC, a Thursday: only the differences matter here).
SUNDAY_1 = 171 * 60
SUNDAY_2 = 339 * 60


def printed_rules(tmp_path: Path) -> Path:
    done = subprocess.run([sys.executable, "-m", "tui", "watch", "--print-rules", "--grace",
                           str(GRACE)], capture_output=True, text=True, timeout=60, check=True)
    path = tmp_path / "pg_cron.rules.yml"
    path.write_text(done.stdout)
    return path


def series(name: str, labels: dict[str, str], values: str) -> dict[str, str]:
    inner = ",".join(f'{k}="{v}"' for k, v in labels.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def expected(alert: str, labels: dict[str, str]) -> dict[str, Any]:
    """The alert as Prometheus fires it: its labels, and its annotations with the labels
    put in (the templates are ours; this checks they render)."""
    rule = next(r for r in rules(GRACE) if r["alert"] == alert)
    annotations = {}
    for key in ("summary", "explain"):
        text = rule[key]
        for k, v in labels.items():
            text = text.replace("{{ $labels." + k + " }}", v)
        annotations[key] = text
    return {"exp_labels": {**labels, "severity": rule["severity"]},
            "exp_annotations": annotations}


def at(minute: int, alert: str, firing: list[dict[str, str]]) -> dict[str, Any]:
    return {"eval_time": f"{minute}m", "alertname": alert,
            "exp_alerts": [expected(alert, labels) for labels in firing]}


def weekly_case() -> dict[str, Any]:
    """The seed's `0 3 * * SUN`: owed from Sunday 03:00; it ran at 03:00:05 on the first
    Sunday, did not on the second, and was run by hand six hours later."""
    manual = SUNDAY_2 + 6 * 60
    due = (f"{SUNDAY_1 * 60}x{SUNDAY_1} {SUNDAY_2 * 60}x{manual - SUNDAY_1 - 2} "
           f"{(SUNDAY_2 + 7 * 24 * 60) * 60}x100")
    missed = ALERTNAMES["missed"]
    return {"interval": "1m", "input_series": [
        series("pgcron_job_active", WEEKLY, f"1x{manual + 100}"),
        series("pgcron_job_due_timestamp_seconds", WEEKLY, due),
    ], "alert_rule_test": [
        at(SUNDAY_1 + 1, missed, []),  # it ran at 03:00:05
        at(SUNDAY_1 + 3 * 24 * 60, missed, []),  # Wednesday
        at(SUNDAY_2 - 1, missed, []),  # a week on, just before its time
        at(SUNDAY_2 + 2, missed, []),  # within its grace
        at(SUNDAY_2 + 3, missed, [WEEKLY]),  # past it, no run
        at(manual - 1, missed, [WEEKLY]),
        at(manual + 1, missed, []),  # resolved: it ran
    ]}


def minutely_case() -> dict[str, Any]:
    """`* * * * *`, starting a second after each minute until minute 50, then silent; a
    paused job owes nothing."""
    missed = ALERTNAMES["missed"]
    paused = {**PROD, "jobname": "paused-one"}
    return {"interval": "1m", "input_series": [
        series("pgcron_job_active", MINUTELY, "1x100"),
        series("pgcron_job_due_timestamp_seconds", MINUTELY, "60+60x50 3060x20 4380+60x29"),
        series("pgcron_job_active", paused, "0x100"),
        series("pgcron_job_due_timestamp_seconds", paused, "60x100"),
    ], "alert_rule_test": [
        at(30, missed, []),
        at(53, missed, []),  # owed since 51, grace 2 min
        at(54, missed, [MINUTELY]),
        at(71, missed, [MINUTELY]),
        at(72, missed, []),  # it started again at minute 72: resolved
    ]}


def level_cases() -> dict[str, Any]:
    n = ALERTNAMES
    dead = {"profile": "dead", "database": "app"}
    job = {**PROD, "jobname": "nightly-rollup"}
    return {"interval": "1m", "input_series": [
        series("pgcron_database_up", {"profile": "prod"}, "1x40"),
        series("pgcron_scheduler_up", PROD, "1x10 0x10 1x20"),
        # Unreachable: its scheduler reads 0 too, but the database alert is the one.
        series("pgcron_database_up", {"profile": "dead"}, "1x10 0x10 1x20"),
        series("pgcron_scheduler_up", dead, "1x10 0x10 1x20"),
        series("pgcron_job_active", job, "1x40"),
        series("pgcron_job_last_run_status", job, "1x5 0x5 1x30"),
        series("pgcron_job_stuck_runs", job, "0x5 1x5 0x30"),
        series("pgcron_job_orphaned_runs", job, "0x5 1x5 0x30"),
        series("pgcron_http_error_responses_total", PROD, "0x5 1x5 1x30"),
    ], "alert_rule_test": [
        at(5, n["failing"], []), at(7, n["failing"], [job]), at(12, n["failing"], []),
        at(5, n["stuck"], []), at(7, n["stuck"], [job]), at(12, n["stuck"], []),
        at(5, n["orphaned"], []), at(7, n["orphaned"], [job]), at(12, n["orphaned"], []),
        at(5, n["http_error"], []), at(8, n["http_error"], [PROD]),
        at(25, n["http_error"], []),
        at(12, n["scheduler_down"], []),  # pending for 2 minutes first
        at(14, n["scheduler_down"], [PROD]), at(25, n["scheduler_down"], []),
        at(12, n["unreachable"], []), at(14, n["unreachable"], [{"profile": "dead"}]),
        at(25, n["unreachable"], []),
    ]}


@needs_promtool
def test_promtool_checks_the_printed_rules(tmp_path: Path) -> None:
    path = printed_rules(tmp_path)
    done = subprocess.run([str(PROMTOOL), "check", "rules", str(path)], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERTNAMES)} rules found" in done.stdout
    text = path.read_text()
    assert all(f"alert: {name}" in text for name in ALERTNAMES.values())


@needs_promtool
@pytest.mark.parametrize("case", [weekly_case, minutely_case, level_cases],
                         ids=lambda c: c.__name__)
def test_promtool_fires_and_resolves_each_alert(tmp_path: Path, case: Any) -> None:
    path = printed_rules(tmp_path)
    # JSON is YAML: promtool reads the test file as written here.
    test = tmp_path / "test.yml"
    test.write_text(json.dumps({"rule_files": [str(path)], "evaluation_interval": "1m",
                                "tests": [case()]}, indent=1))
    done = subprocess.run([str(PROMTOOL), "test", "rules", str(test)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


@needs_promtool
def test_a_wrong_expectation_fails(tmp_path: Path) -> None:
    """The harness can fail: the weekly job said quiet where it fires."""
    path = printed_rules(tmp_path)
    case = weekly_case()
    case["alert_rule_test"] = [at(SUNDAY_2 + 3, ALERTNAMES["missed"], [])]
    test = tmp_path / "test.yml"
    test.write_text(json.dumps({"rule_files": [str(path)], "evaluation_interval": "1m",
                                "tests": [case]}))
    done = subprocess.run([str(PROMTOOL), "test", "rules", str(test)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode != 0
