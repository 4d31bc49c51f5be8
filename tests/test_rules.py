"""The operator's rules (tui/rules.py), alone: no server, no terminal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tui import rules
from tui.models import Job

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=timezone.utc)


def usual(durations: list[float], lags: list[float | None] | None = None) -> rules.Usual:
    lags = lags or [None] * len(durations)
    return rules.usual_of((i, d, lag) for i, (d, lag) in enumerate(zip(durations, lags)))


def job(status: str | None = None, started_ago_s: float | None = None, *, active: bool = True,
        orphaned: bool | None = None) -> Job:
    start = NOW - timedelta(seconds=started_ago_s) if started_ago_s is not None else None
    return Job(jobid=1, jobname="j", schedule="* * * * *", command="select 1",
               database="postgres", username="postgres", active=active, last_runid=7,
               last_status=status, last_start=start, last_orphaned=orphaned)


def test_usual_statistics_are_percentile_cont() -> None:
    u = usual([1, 2, 3, 4, 100], [0.1, 0.2, None, 0.3, 0.4])
    assert u.count == 5
    assert u.duration == (3, rules.percentile([1, 2, 3, 4, 100], 0.95))
    assert abs(u.duration[1] - (4 + (100 - 4) * 0.8)) < 1e-9
    assert u.lag is not None and u.lag[0] == 0.25
    assert usual([]).duration is None


def test_the_issue_example_20ms_job_running_8_minutes_is_stuck() -> None:
    quick = usual([0.02] * 20)
    assert rules.stuck_after_s(quick) == rules.STUCK_FLOOR_S
    assert rules.is_stuck("running", NOW - timedelta(minutes=8), NOW, quick)
    assert rules.problem(job("running", 8 * 60), NOW, quick) == "stuck"
    assert not rules.is_stuck("running", NOW - timedelta(minutes=4), NOW, quick)


def test_stuck_waits_for_a_slow_jobs_usual() -> None:
    slow = usual([3600.0] * 10)
    assert rules.stuck_after_s(slow) == rules.STUCK_FACTOR * 3600
    assert not rules.is_stuck("running", NOW - timedelta(hours=4), NOW, slow)
    assert rules.is_stuck("running", NOW - timedelta(hours=6), NOW, slow)
    # No usual figure: the floor.
    assert rules.stuck_after_s(None) == rules.STUCK_FLOOR_S
    assert rules.is_stuck("starting", NOW - timedelta(minutes=6), NOW, None)
    # Finished, not started, or orphaned: never stuck.
    assert not rules.is_stuck("succeeded", NOW - timedelta(days=1), NOW, None)
    assert not rules.is_stuck("running", None, NOW, None)
    assert not rules.is_stuck("running", NOW - timedelta(days=1), NOW, None, orphaned=True)


def test_orphaned_is_told_only_from_what_is_seen() -> None:
    assert rules.is_orphaned("running", 4242, pid_alive=False) is True
    assert rules.is_orphaned("running", 4242, pid_alive=True) is False
    assert rules.is_orphaned("running", 4242, pid_alive=None) is None  # never guessed
    assert rules.is_orphaned("succeeded", 4242, pid_alive=False) is False
    # No backend yet: nothing to look for.
    assert rules.is_orphaned("starting", None, pid_alive=None) is False
    assert rules.is_orphaned("connecting", None, pid_alive=None) is False
    # Rows pg_cron never cleans, older than the server's start.
    assert rules.is_orphaned("connecting", None, None, before_server_start=True) is True
    assert rules.is_orphaned("sending", 99, None, before_server_start=True) is True
    # The launcher fixes starting/running rows at its start: the pid decides for those.
    assert rules.is_orphaned("running", 99, True, before_server_start=True) is False


def test_outlier_is_the_flag_rule() -> None:
    u = usual([1.0] * 5 + [40.0], [0.1] * 5 + [45.0])
    assert rules.outlier(u, rules.DURATION, 40.0, runid=5) == 1.0
    assert rules.outlier(u, rules.LAG, 45.0, runid=5) == 0.1
    # Under the floor, however many times the usual.
    assert rules.outlier(u, rules.DURATION, 9.0, runid=5) is None
    # Too few other runs to compare with.
    assert rules.outlier(usual([1.0] * 4 + [40.0]), rules.DURATION, 40.0, runid=4) is None
    assert rules.outlier(None, rules.DURATION, 40.0) is None


def test_failing_and_its_streak() -> None:
    assert rules.is_failing("failed") and not rules.is_failing("running")
    assert rules.failed_streak(["running", "failed", "failed", "succeeded", "failed"]) == 2
    assert rules.failed_streak(["succeeded", "failed"]) == 0
    assert rules.failed_streak([]) == 0


def test_missed_only_when_the_evidence_says_so() -> None:
    assert rules.is_missed("unknown") is True
    assert rules.is_missed("unknown", no_history=True) is None  # history purged, not read
    for outcome in ("scheduler_down", "standby", "not_created"):
        assert rules.is_missed(outcome) is None
    for outcome in ("ran", "late", "failed", "running", "queued", "inactive"):
        assert rules.is_missed(outcome) is False


def test_problem_worst_first() -> None:
    assert rules.problem(job("failed", 10, active=False), NOW) == "failing"
    assert rules.problem(job("running", 10, orphaned=True), NOW) == "orphaned"
    assert rules.problem(job("running", 3600, orphaned=True), NOW) == "orphaned"
    assert rules.problem(job("running", 3600, orphaned=None), NOW) == "stuck"
    assert rules.problem(job("running", 3600, active=False), NOW) == "stuck"
    assert rules.problem(job("succeeded", 10, active=False), NOW) == "paused"
    assert rules.problem(job("succeeded", 10), NOW) is None
    assert rules.problem(job(None), NOW) is None
    ranks = [rules.problem_rank(p) for p in (*rules.PROBLEMS, None)]
    assert ranks == sorted(ranks) and len(set(ranks)) == len(ranks)
