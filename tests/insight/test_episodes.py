"""Episodes, pure: a problem opens once, reminds at most every `repeat`, resolves once."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tui.insight.alertmanager import body, labels
from tui.insight.episodes import Book, Cleared, Seen

T0 = datetime(2026, 11, 29, 3, 0, tzinfo=timezone.utc)
REPEAT = timedelta(hours=4)


def failed(minute: int) -> Seen:
    at = T0 + timedelta(minutes=minute)
    return Seen("failing", "prod", "7", f"run {minute} failed: ERROR:  deadlock detected",
                at.isoformat(), 1, job="nightly-rollup", jobid=7, database="app")


def test_failing_every_minute_for_a_day_is_one_firing_reminders_and_one_resolved() -> None:
    book = Book()
    states = []
    for minute in range(24 * 60):
        now = T0 + timedelta(minutes=minute, seconds=30)
        states += [c.state for c in book.step([failed(minute)], [], [], now, REPEAT)]
    now = T0 + timedelta(days=1, seconds=30)
    end = Cleared("failing", "prod", "7", "run 1441 succeeded", now.isoformat())
    last = book.step([], [end], [], now, REPEAT)
    states += [c.state for c in last]
    # One firing, a reminder every 4 hours (at 4, 8, 12, 16 and 20 h), one resolved.
    assert states == ["firing"] + ["reminder"] * 5 + ["resolved"]
    assert last[0].episode.count == 24 * 60
    assert "1440 in all" in last[0].message
    assert book.open == {}


def test_a_level_ends_when_a_pass_that_checked_it_does_not_see_it() -> None:
    book = Book()
    down = Seen("scheduler_down", "prod", "server", "launcher not running", T0.isoformat(), 0)
    assert [c.state for c in book.step([down], [], [("prod", "scheduler_down")], T0,
                                       REPEAT)] == ["firing"]
    # A pass that did not check it (the database was skipped while backing off): still open.
    assert book.step([], [], [], T0 + timedelta(minutes=1), REPEAT) == []
    # Another profile's check says nothing of this one.
    assert book.step([], [], [("staging", "scheduler_down")], T0 + timedelta(minutes=2),
                     REPEAT) == []
    done = book.step([], [], [("prod", "scheduler_down")], T0 + timedelta(minutes=3), REPEAT)
    assert [c.state for c in done] == ["resolved"]


def test_seen_and_cleared_in_one_pass_stays_open_and_cleared_alone_is_no_news() -> None:
    book = Book()
    end = Cleared("failing", "prod", "7", "run 3 succeeded", T0.isoformat())
    assert book.step([], [end], [], T0, REPEAT) == []  # nothing was open: not news
    changes = book.step([failed(1)], [end], [], T0, REPEAT)
    assert [c.state for c in changes] == ["firing"]


def test_alertmanager_labels_are_the_problem_not_the_watcher() -> None:
    one, two = Book(), Book()
    a = one.step([failed(1)], [], [], T0, REPEAT)[0].episode
    b = two.step([failed(5)], [], [], T0 + timedelta(minutes=9), REPEAT)[0].episode
    assert labels(a) == labels(b) == {"alertname": "PgCronJobFailing", "profile": "prod",
                                      "severity": "warning", "database": "app",
                                      "jobname": "nightly-rollup"}
    assert a.id != b.id  # two watchers, two episodes: Alertmanager keeps one alert
    alerts = body([a], [], T0, timedelta(minutes=3))
    assert alerts[0]["endsAt"] == (T0 + timedelta(minutes=3)).isoformat()
    assert alerts[0]["annotations"]["explain"] == "cronjobs-tui --profile prod explain '#7'"
