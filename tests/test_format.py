"""How times read on screen; the jobs table reads them to the minute."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from tui import format as fmt

NOW = datetime(2026, 11, 28, 12, 0, 0, 300_000, tzinfo=timezone.utc)


def test_relative_to_the_second_and_to_the_minute() -> None:
    soon, past = NOW + timedelta(seconds=30), NOW - timedelta(seconds=30)
    assert fmt.relative(soon, NOW) == "in 30 s"
    assert fmt.relative(soon, NOW, to_the_minute=True) == "in <1 min"
    assert fmt.relative(past, NOW, to_the_minute=True) == "<1 min ago"
    assert fmt.relative(NOW + timedelta(seconds=90), NOW, to_the_minute=True) == "in 1 min"
    assert fmt.relative(NOW + timedelta(hours=3, minutes=12), NOW, to_the_minute=True) == \
        "in 3 h 12 min"
    assert fmt.relative(None, NOW) == "-"


def test_compact_ago_never_counts_seconds() -> None:
    assert fmt.compact_ago(NOW - timedelta(seconds=20), NOW) == "<1m"
    assert fmt.compact_ago(NOW - timedelta(minutes=10, seconds=59), NOW) == "10m"
    assert fmt.compact_ago(NOW - timedelta(days=6, hours=5), NOW) == "6d"
    assert fmt.compact_ago(NOW + timedelta(seconds=5), NOW) == "<1m"  # clocks a little apart


def test_minute_texts_turn_over_together_for_cron_runs() -> None:
    """Cron runs start just after the minute, so their minute texts all change at the same
    refresh: between two minute boundaries none of them moves."""
    starts = [NOW.replace(minute=m, microsecond=200_000 + 1000 * m) for m in range(0, 50, 7)]
    later = NOW.replace(hour=13)
    texts = [[fmt.compact_ago(s, later + timedelta(seconds=t)) for s in starts]
             for t in range(1, 59, 2)]
    assert all(t == texts[0] for t in texts)
