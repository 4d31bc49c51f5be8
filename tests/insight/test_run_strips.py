"""Run strips (tui/insight/strips.py): marks per outcome, newest at the right, readable
without colour; the durations' sparkline on a stated scale."""

from __future__ import annotations

from tui.insight.strips import (
    FAILED,
    GLYPHS,
    LATE,
    ORPHANED,
    RUNNING,
    SUCCEEDED,
    StripRun,
    legend,
    sparkline,
    strip,
    text,
)


def test_each_outcome_has_its_own_glyph() -> None:
    assert len(set(GLYPHS.values())) == len(GLYPHS) == 5
    runs = [StripRun("succeeded"), StripRun("failed"), StripRun("running"),
            StripRun("running", orphaned=True), StripRun("succeeded", late=True),
            StripRun("connecting")]
    cells = strip(runs, 6)
    assert [k for _, k in cells] == [SUCCEEDED, FAILED, RUNNING, ORPHANED, LATE, RUNNING]
    assert text(cells) == "▪✗▸?▴▸"
    assert all(len(g) == 1 for g, _ in cells)  # one terminal cell each
    assert "? orphaned (its backend is gone)" in legend()


def test_newest_at_the_right_and_padded() -> None:
    few = strip([StripRun("failed"), StripRun("succeeded")], 5)
    assert text(few) == "   ✗▪" and few[0] == (" ", None)
    many = [StripRun("failed")] + [StripRun("succeeded")] * 20
    assert text(strip(many, 12)) == "▪" * 12  # the old failure scrolled out
    assert strip(many, 0) == []


def test_sparkline_states_its_scale() -> None:
    bars, scale = sparkline([1.0, 2.0, 4.0, 8.0], 10)
    assert scale == "0 to 8 s" and bars[-1] == "█" and bars[0] in "▁▂"
    assert len(bars) == 4
    assert sparkline([], 10) == ("", "no finished run")
    assert sparkline([0.0, 0.0], 10) == ("▁▁", "all 0 s")
    assert len(sparkline([1.0] * 50, 20)[0]) == 20
