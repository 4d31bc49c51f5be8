"""The accuracy matching on its own: runs as cron.job_run_details holds them, a pinned window,
our real engine (tests/insight/test_accuracy.py holds it against a real scheduler)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tui.insight.accuracy import (
    LATE,
    MISSED,
    ON_TIME_WORD,
    UNEXPLAINED,
    AccuracyJob,
    Tally,
    changes_from_audit,
    judge,
    sentence,
)
from tui.insight.explain import Evidence, RunRow

T0 = datetime(2026, 6, 1, 12, 0, 30, tzinfo=timezone.utc)  # a window of ten minutes
END = T0 + timedelta(minutes=10)
S = timedelta(seconds=1)


def ev(**kw: object) -> Evidence:
    base = dict(now=END + 60 * S, launcher_start=T0 - timedelta(days=1), launcher_known=True,
                postmaster_start=T0 - timedelta(days=1), in_recovery=False,
                max_running_jobs=32, oldest_start=T0 - timedelta(days=1), read_back_to=None)
    base.update(kw)
    return Evidence(**base)  # type: ignore[arg-type]


def minute(k: int) -> datetime:
    return datetime(2026, 6, 1, 12, k, tzinfo=timezone.utc)


def run(runid: int, at: datetime, took: float = 0.5, jobid: int = 1,
        status: str = "succeeded") -> RunRow:
    return RunRow(runid, jobid, status, at, at + took * S)


def kinds(result: object, jobid: int = 1) -> Tally:
    return result.per_job[jobid]  # type: ignore[attr-defined,no-any-return]


def test_every_minute_on_time_and_the_figure() -> None:
    runs = [run(k, minute(k) + 0.3 * S) for k in range(1, 11)]
    older = run(100, minute(0) - 30 * S)  # the history reaches before the window
    result = judge([AccuracyJob(1, "m", "* * * * *")], [older, *runs], [], ev(), T0, END,
                   "UTC", "1.6")
    t = kinds(result)
    assert (t.fire_times, t.on_time, t.unexplained) == (10, 10, 0) and t.percent == 100
    assert result.sentence() == ("10 fire times in 10 min: 10 started within 5 s; "
                                 "0 unexplained")


def test_the_issue_s_sentence() -> None:
    assert sentence(Tally(10_080, 10_080), timedelta(days=7)) == (
        "10,080 fire times in 7 d: 10,080 started within 5 s; 0 unexplained")


def test_late_behind_its_own_run_missed_and_unexplained() -> None:
    runs = [run(1, minute(1) + 0.2 * S, took=90),  # runs past 12:02
            run(2, minute(2) + 30.4 * S),  # 12:02's run, queued behind it
            run(3, minute(3) + 0.2 * S)]
    # 12:04 onwards: nothing, and nothing explains it. 12:07: a run nobody predicted.
    stray = run(4, minute(7) + 20 * S, jobid=2)
    result = judge([AccuracyJob(1, "m", "* * * * *"),
                    AccuracyJob(2, "s", "*/5 * * * *")],
                   [run(99, minute(0)), run(98, minute(0), jobid=2), *runs, stray,
                    run(5, minute(5) + 0.1 * S, jobid=2), run(6, minute(10) + 0.2 * S, jobid=2)],
                   [], ev(), T0, END, "UTC", "1.6")
    cases = {(c.job, c.at.minute): c for c in result.unexplained}
    m = kinds(result)
    assert (m.on_time, m.late) == (2, 1) and m.unexplained == 7  # 12:04 to 12:10
    assert cases[("s", 7)].fire_time is False and "did not give" in cases[("s", 7)].reason
    s = kinds(result, 2)
    assert (s.fire_times, s.on_time, s.unexplained) == (2, 2, 1)


def test_times_behind_a_run_still_going_are_late_and_with_the_launcher_gone_missed() -> None:
    going = RunRow(2, 1, "running", minute(9) + 0.2 * S, None)
    runs = [run(99, minute(0)), *(run(k + 10, minute(k) + 0.2 * S) for k in range(1, 9)), going]
    result = judge([AccuracyJob(1, "m", "* * * * *")], runs, [], ev(), T0, END, "UTC", "1.6")
    t = kinds(result)
    # 12:10 waits behind 12:09's run: late for a known reason, not unexplained.
    assert (t.fire_times, t.on_time, t.late, t.unexplained) == (10, 9, 1, 0)
    # The launcher gone since: nothing queued 12:10 any more; the scheduler was down.
    gone = kinds(judge([AccuracyJob(1, "m", "* * * * *")], runs, [], ev(launcher_start=None),
                       T0, END, "UTC", "1.6"))
    assert (gone.fire_times, gone.on_time, gone.missed, gone.unexplained) == (10, 9, 1, 0)


def test_paused_in_the_audit_log_is_missed_and_manual_runs_are_not_the_scheduler_s() -> None:
    paused = ((minute(3) + 10 * S, minute(6) + 10 * S),)
    runs = [run(k, minute(k) + 0.2 * S) for k in (1, 2, 3, 7, 8, 9, 10)]
    by_hand = run(50, minute(5) + 17 * S)
    job = AccuracyJob(1, "m", "* * * * *", paused=paused)
    result = judge([job], [run(99, minute(0)), *runs, by_hand], [50], ev(), T0, END, "UTC",
                   "1.6")
    t = kinds(result)
    assert (t.on_time, t.missed, t.unexplained) == (7, 3, 0)
    # Without the pause, 12:04 and 12:06 have no reason; without its runid, the run by hand
    # at 12:05:17 passes for 12:05's, late.
    bare = judge([AccuracyJob(1, "m", "* * * * *")], [run(99, minute(0)), *runs, by_hand],
                 [], ev(), T0, END, "UTC", "1.6")
    assert (kinds(bare).unexplained, kinds(bare).late) == (2, 1)


def test_a_schedule_changed_in_the_window_is_judged_piece_by_piece() -> None:
    changed_at = minute(4) + 20 * S
    runs = [run(k, minute(k) + 0.2 * S) for k in (1, 2, 3, 4, 6, 8, 10)]
    job = AccuracyJob(1, "m", "*/2 * * * *",
                      changes=((changed_at, "* * * * *", "*/2 * * * *"),))
    result = judge([job], [run(99, minute(0)), *runs], [], ev(), T0, END, "UTC", "1.6")
    assert (kinds(result).fire_times, kinds(result).unexplained) == (7, 0)
    now_only = judge([AccuracyJob(1, "m", "*/2 * * * *")], [run(99, minute(0)), *runs], [],
                     ev(), T0, END, "UTC", "1.6")
    assert {c.at.minute for c in now_only.unexplained} == {1, 3}


def test_interval_jobs() -> None:
    starts = [T0 + k * 30 * S + 0.4 * S for k in range(1, 18)]
    runs = [run(k, at) for k, at in enumerate(starts, 1)]
    # One overran: the next waited for it, and was late for that reason.
    runs[5] = run(6, starts[5], took=40)
    runs[6] = run(7, starts[5] + 40.2 * S)
    runs[7:] = [run(k, starts[5] + 40.2 * S + (k - 7) * 30 * S) for k in range(8, 20)]
    result = judge([AccuracyJob(1, "i", "30 seconds")], runs, [], ev(), T0, END, "UTC", "1.6")
    t = kinds(result)
    assert t.unexplained == 0 and t.late == 1 and t.fire_times == 18  # each after the first
    gap = [r for r in runs if r.runid != 10]  # a start never made, no reason: unexplained
    assert kinds(judge([AccuracyJob(1, "i", "30 seconds")], gap, [], ev(), T0, END, "UTC",
                       "1.6")).unexplained == 1


def test_changes_from_the_audit_log() -> None:
    entries = [{"at": "2026-06-01T12:04:20+00:00", "job": "m", "action": "edit",
                "outcome": "ok", "server": "h:5432/postgres",
                "before": {"schedule": "* * * * *"}, "after": {"schedule": "*/2 * * * *"}},
               {"at": "2026-06-01T12:05:00+00:00", "job": "m", "action": "edit",
                "outcome": "ok", "server": "h:5432/postgres",
                "before": {"schedule": "*/2 * * * *"}, "after": {"schedule": "*/2 * * * *"}},
               {"at": "2026-06-01T12:06:00+00:00", "job": "m", "action": "edit",
                "outcome": "ok", "server": "elsewhere:5432/postgres",
                "before": {"schedule": "1 * * * *"}, "after": {"schedule": "2 * * * *"}}]
    assert changes_from_audit(entries, "m", "h:5432/postgres") == (
        (minute(4) + 20 * S, "* * * * *", "*/2 * * * *"),)
    assert {ON_TIME_WORD, LATE, MISSED, UNEXPLAINED} == {"on_time", "late", "missed",
                                                         "unexplained"}


def test_a_job_that_never_ran_is_not_judged_without_its_creation_time() -> None:
    result = judge([AccuracyJob(1, "new", "0 12 * * *")], [run(99, minute(0), jobid=2)], [],
                   ev(), T0 - timedelta(days=1), END, "UTC", "1.6")
    assert 1 not in result.per_job and result.not_judged == [
        "new: no run recorded and no creation time known (the audit log has none)"]
    # Created (audit log) before a time it gave, and never ran: that time is unexplained.
    created = AccuracyJob(1, "new", "0 12 * * *", created_at=T0 - timedelta(hours=12))
    judged = judge([created], [run(99, minute(0), jobid=2)], [], ev(),
                   T0 - timedelta(days=1), END, "UTC", "1.6")
    assert judged.per_job[1].unexplained == 1
