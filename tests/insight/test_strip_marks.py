"""How a run becomes its mark (the rules' verdicts, tui/rules.py) and how the jobs table draws a
strip and decides its columns by width."""

from __future__ import annotations

from tui import rules
from tui.insight.strips import DETAIL_RUNS, STYLES, StripRun, judged, newest, pieces
from tui.ui.widgets.jobs import FULL, STRIP_WIDE, WIDE, hidden_columns

# Five on-time runs (lag 1 s, 2 s duration): the lag rule's usual.
USUAL = rules.Usual({runid: (2.0, 1.0) for runid in range(1, 6)})


def test_late_is_the_lag_rules_verdict_and_only_for_a_success() -> None:
    assert judged(9, "succeeded", lag=600.0, usual=USUAL).late
    assert not judged(9, "succeeded", lag=20.0, usual=USUAL).late  # under the 30 s floor
    assert not judged(9, "succeeded", lag=600.0, usual=None).late  # no usual: not judged
    assert not judged(9, "failed", lag=600.0, usual=USUAL).late
    assert judged(9, "running", orphaned=True).orphaned
    assert not judged(9, "running", orphaned=None).orphaned  # unknown is never said


def test_a_strip_keeps_the_newest_runs_in_runid_order() -> None:
    runs = {runid: StripRun("failed" if runid % 2 else "succeeded") for runid in range(100, 0, -1)}
    kept = newest(runs)
    assert len(kept) == DETAIL_RUNS and kept[-1] == runs[100]


def test_pieces_join_marks_of_a_kind_and_pad_on_the_left() -> None:
    drawn = pieces([StripRun("succeeded"), StripRun("succeeded"), StripRun("failed")], 5)
    assert drawn == (("  ", ""), ("▪▪", STYLES["succeeded"]), ("✗", STYLES["failed"]))
    assert pieces([], 5) == ()  # no run: an empty cell


def test_the_strip_goes_first_as_the_screen_narrows() -> None:
    assert hidden_columns(FULL) == set()
    assert hidden_columns(STRIP_WIDE) == {"describe"}  # Means makes way for it
    assert hidden_columns(STRIP_WIDE - 1) == {"recent"}
    assert {"recent", "describe", "at", "took"} <= hidden_columns(WIDE - 1)
    assert "last" not in hidden_columns(80)
