"""Next runs and the next-run cache."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from tui.cron import NextRunCache, next_runs, parse

UTC = timezone.utc


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def iso(runs: list[datetime]) -> list[str]:
    return [r.isoformat() for r in runs]


def test_weekly_sunday_in_utc() -> None:
    runs = next_runs("0 3 * * SUN", utc(2026, 11, 28, 12), "UTC")
    assert runs == [
        utc(2026, 11, 29, 3),
        utc(2026, 12, 6, 3),
        utc(2026, 12, 13, 3),
        utc(2026, 12, 20, 3),
        utc(2026, 12, 27, 3),
    ]
    assert all(str(r.tzinfo) == "UTC" for r in runs)


def test_runs_are_strictly_after() -> None:
    assert next_runs("0 3 * * *", utc(2026, 1, 1, 3), "UTC", 1) == [utc(2026, 1, 2, 3)]


def test_last_day_of_month() -> None:
    runs = next_runs("0 0 $ * *", utc(2028, 1, 15), "UTC", 4)
    assert runs == [utc(2028, 1, 31), utc(2028, 2, 29), utc(2028, 3, 31), utc(2028, 4, 30)]


def test_last_day_or_monday() -> None:
    # '$' does not count as '*': with a restricted day of week it is the OR rule.
    runs = next_runs("0 0 $ * MON", utc(2026, 1, 20), "UTC", 3)
    assert runs == [utc(2026, 1, 26), utc(2026, 1, 31), utc(2026, 2, 2)]


def test_dst_spring_forward_skips_the_missing_time() -> None:
    runs = next_runs("30 2 * * *", utc(2026, 3, 27, 12), "Europe/Berlin", 3)
    assert iso(runs) == [
        "2026-03-28T02:30:00+01:00",
        "2026-03-30T02:30:00+02:00",  # 2026-03-29 02:30 does not exist in Berlin
        "2026-03-31T02:30:00+02:00",
    ]


def test_dst_fall_back_fires_twice() -> None:
    runs = next_runs("30 2 * * *", utc(2026, 10, 24, 12), "Europe/Berlin", 3)
    assert [r.astimezone(UTC) for r in runs] == [
        utc(2026, 10, 25, 0, 30),
        utc(2026, 10, 25, 1, 30),
        utc(2026, 10, 26, 1, 30),
    ]


def test_fall_back_second_pass_only_when_after_is_between() -> None:
    # now is 02:40 CEST (00:40Z): the next 02:30 is the repeated one, in CET.
    runs = next_runs("30 2 * * *", utc(2026, 10, 25, 0, 40), "Europe/Berlin", 1)
    # Compare in UTC: PEP 495 makes '==' false across zones for times in a fold.
    assert [r.astimezone(UTC) for r in runs] == [utc(2026, 10, 25, 1, 30)]
    assert runs[0].fold == 1


def test_or_rule_when_neither_day_field_is_star() -> None:
    runs = next_runs("0 9 1 * MON", utc(2026, 5, 29), "UTC", 3)
    assert runs == [utc(2026, 6, 1, 9), utc(2026, 6, 8, 9), utc(2026, 6, 15, 9)]


def test_and_rule_when_a_day_field_starts_with_star() -> None:
    # '*/2' is odd days; Mondays that are odd days only.
    runs = next_runs("0 9 */2 * MON", utc(2026, 5, 29), "UTC", 3)
    assert runs == [utc(2026, 6, 1, 9), utc(2026, 6, 15, 9), utc(2026, 6, 29, 9)]


def test_hash_n_is_ignored_and_extra_fields_too() -> None:
    every_monday = next_runs("0 12 * * MON", utc(2026, 6, 1), "UTC", 5)
    assert next_runs("0 12 * * MON#1", utc(2026, 6, 1), "UTC", 5) == every_monday
    assert next_runs("0 12 * * MON 2030", utc(2026, 6, 1), "UTC", 5) == every_monday


def test_sunday_as_7_and_names() -> None:
    assert next_runs("0 0 * * 7", utc(2026, 1, 1), "UTC", 2) == [utc(2026, 1, 4), utc(2026, 1, 11)]
    assert next_runs("0 0 1 feb-mar *", utc(2026, 1, 1), "UTC", 2) == [
        utc(2026, 2, 1),
        utc(2026, 3, 1),
    ]


@pytest.mark.parametrize(
    "expr",
    [
        "0 0 * * SAT-SUN",
        "50-10 * * * *",
        "0 0 30 2 *",
        "0 0 31 4,6,9,11 *",
        "@reboot",
        "@restart",
        "not a schedule",
        "5/15 * * * *",
    ],
)
def test_schedules_that_never_fire(expr: str) -> None:
    assert next_runs(expr, utc(2026, 1, 1), "UTC") == []


def test_non_wrapping_dow_range_with_dom_uses_or() -> None:
    # SAT-SUN selects no weekday, but '1' is not '*': the OR rule fires on the 1st.
    assert next_runs("0 0 1 * SAT-SUN", utc(2026, 1, 1), "UTC", 2) == [
        utc(2026, 2, 1),
        utc(2026, 3, 1),
    ]


def test_leap_day() -> None:
    assert next_runs("0 0 29 2 *", utc(2026, 1, 1), "UTC", 2) == [
        utc(2028, 2, 29),
        utc(2032, 2, 29),
    ]


def test_macros() -> None:
    after = utc(2026, 5, 5, 10, 30)
    assert next_runs("@hourly", after, "UTC", 1) == [utc(2026, 5, 5, 11)]
    assert next_runs("@daily", after, "UTC", 1) == [utc(2026, 5, 6)]
    assert next_runs("@weekly", after, "UTC", 1) == [utc(2026, 5, 10)]
    assert next_runs("@monthly", after, "UTC", 1) == [utc(2026, 6, 1)]
    assert next_runs("@yearly", after, "UTC", 1, version="1.5") == [utc(2027, 1, 1)]
    assert next_runs("@annually", after, "UTC", 1, version="1.4") == [utc(2027, 1, 1)]
    # pg_cron 1.6 sets no month for these (entry.c), so they never fire.
    assert next_runs("@yearly", after, "UTC", 1) == []
    assert next_runs("@annually", after, "UTC", 1, version="1.6.4") == []


def test_step_over_range_on_14_means_first_value() -> None:
    after = utc(2026, 1, 1, 0, 30)
    assert next_runs("*/60 * * * *", after, "UTC", 2, version="1.4") == [
        utc(2026, 1, 1, 1),
        utc(2026, 1, 1, 2),
    ]
    assert next_runs("*/60 * * * *", after, "UTC", 2, version="1.6") == []


def test_seconds_from_last_start() -> None:
    runs = next_runs(
        "15 seconds", utc(2026, 1, 1, 12, 0, 20), "UTC", 3, last_start=utc(2026, 1, 1, 12)
    )
    assert runs == [utc(2026, 1, 1, 12, 0, 30), utc(2026, 1, 1, 12, 0, 45), utc(2026, 1, 1, 12, 1)]


def test_seconds_exactly_on_a_tick_is_not_after() -> None:
    runs = next_runs(
        "15 seconds", utc(2026, 1, 1, 12, 0, 30), "UTC", 1, last_start=utc(2026, 1, 1, 12)
    )
    assert runs == [utc(2026, 1, 1, 12, 0, 45)]


def test_seconds_without_last_start_is_after_plus_n() -> None:
    after = utc(2026, 1, 1, 12, 0, 7)
    assert next_runs("10 seconds", after, "Europe/Berlin", 2) == [
        after + timedelta(seconds=10),
        after + timedelta(seconds=20),
    ]


def test_seconds_need_15() -> None:
    assert next_runs("10 seconds", utc(2026, 1, 1), "UTC", version="1.4") == []


def test_results_are_in_the_requested_zone() -> None:
    runs = next_runs("0 12 * * *", utc(2026, 7, 1), "America/New_York", 1)
    assert runs[0].isoformat() == "2026-07-01T12:00:00-04:00"


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError):
        next_runs("* * * * *", datetime(2026, 1, 1), "UTC")


_simple_field = st.one_of(
    st.just("*"),
    st.integers(0, 5).map(str),
    st.integers(1, 6).map(lambda n: f"*/{n}"),
    # croniter mishandles single-value ranges such as '3-3' in the day-of-week field, so ranges
    # here always span two values or more.
    st.tuples(st.integers(0, 3), st.integers(4, 6)).map(lambda t: f"{t[0]}-{t[1]}"),
)


@settings(max_examples=200, deadline=None)
@given(
    minute=_simple_field,
    hour=_simple_field,
    dom=_simple_field.map(lambda f: f.replace("0", "1")),
    month=st.sampled_from(["*", "1", "2-4", "*/5"]),
    dow=_simple_field,
    start=st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1)),
)
def test_agrees_with_croniter_cron_bug_mode_in_utc(
    minute: str, hour: str, dom: str, month: str, dow: str, start: datetime
) -> None:
    expr = f"{minute} {hour} {dom} {month} {dow}"
    after = start.replace(tzinfo=UTC)
    ours = next_runs(expr, after, "UTC", 3)
    it = croniter(expr, after, implement_cron_bug=True)
    theirs = [it.get_next(datetime) for _ in range(3)]
    assert ours == theirs


def test_cache_returns_the_next_run_and_recomputes_when_passed() -> None:
    cache = NextRunCache()
    now = utc(2026, 1, 1, 10, 30)
    assert cache.next_run(1, "0 * * * *", now, "UTC") == utc(2026, 1, 1, 11)
    assert cache.next_run(1, "0 * * * *", now + timedelta(minutes=20), "UTC") == utc(2026, 1, 1, 11)
    assert cache.next_run(1, "0 * * * *", utc(2026, 1, 1, 11), "UTC") == utc(2026, 1, 1, 12)


def test_cache_notices_changed_inputs() -> None:
    cache = NextRunCache()
    now = utc(2026, 1, 1, 10, 30)
    assert cache.next_run(1, "0 * * * *", now, "UTC") == utc(2026, 1, 1, 11)
    assert cache.next_run(1, "45 * * * *", now, "UTC") == utc(2026, 1, 1, 10, 45)
    berlin = cache.next_run(1, "0 12 * * *", now, "Europe/Berlin")
    assert berlin == utc(2026, 1, 1, 11)
    assert cache.next_run(2, "10 seconds", now, "UTC", last_start=now) == now + timedelta(
        seconds=10
    )
    later = now + timedelta(seconds=3)
    assert cache.next_run(2, "10 seconds", now, "UTC", last_start=later) == later + timedelta(
        seconds=10
    )
    assert cache.next_run(3, "@reboot", now, "UTC") is None
    assert cache.next_run(3, "5 seconds", now, "UTC", version="1.4") is None
    cache.forget(3)
    assert len(cache) == 2


def test_cache_hits_return_the_stored_run() -> None:
    # Speed is for a benchmark, not a test (GUIDE.md); here: a hit hands back the very object
    # computed on the miss, for 10,000 jobs, including the ones that never fire.
    cache = NextRunCache()
    now = utc(2026, 1, 1, 10, 30)
    schedules = ["0 3 * * SUN", "*/5 * * * *", "0 0 $ * *", "@reboot", "bad", "0 0 30 2 *"]
    first = [
        cache.next_run(jobid, schedules[jobid % len(schedules)], now, "UTC")
        for jobid in range(10_000)
    ]
    later = now + timedelta(minutes=2)
    again = [
        cache.next_run(jobid, schedules[jobid % len(schedules)], later, "UTC")
        for jobid in range(10_000)
    ]
    assert all(a is b for a, b in zip(first, again))
    assert first[:6] == [
        utc(2026, 1, 4, 3),
        utc(2026, 1, 1, 10, 35),
        utc(2026, 1, 31),
        None,
        None,
        None,
    ]


def _walk_minutes(expr: str, after: datetime, tz: str, count: int) -> list[datetime]:
    """pg_cron's own method: step through real minutes and test each local wall time."""
    zone = ZoneInfo(tz)
    schedule = parse(expr)
    assert schedule is not None
    t = after.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    runs: list[datetime] = []
    while len(runs) < count:
        local = t.astimezone(zone)
        if (
            local.minute in schedule.minutes
            and local.hour in schedule.hours
            and local.month in schedule.months
            and local.day in schedule.doms
            and (local.weekday() + 1) % 7 in schedule.dows
        ):
            runs.append(local)
        t += timedelta(minutes=1)
    return runs


@settings(max_examples=60, deadline=None)
@given(
    minute=st.sampled_from(["0", "30", "*/20", "59"]),
    hour=st.sampled_from(["*", "1", "2", "3", "1-3", "0,2"]),
    tz=st.sampled_from(["Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    offset_minutes=st.integers(min_value=-300, max_value=300),
    spring=st.booleans(),
)
def test_matches_a_minute_by_minute_walk_across_dst(
    minute: str, hour: str, tz: str, offset_minutes: int, spring: bool
) -> None:
    transitions = {
        ("Europe/Berlin", True): utc(2026, 3, 29, 1),
        ("Europe/Berlin", False): utc(2026, 10, 25, 1),
        ("America/New_York", True): utc(2026, 3, 8, 7),
        ("America/New_York", False): utc(2026, 11, 1, 6),
        ("Australia/Lord_Howe", True): utc(2026, 10, 3, 15, 30),
        ("Australia/Lord_Howe", False): utc(2026, 4, 4, 15),
    }
    after = transitions[(tz, spring)] + timedelta(minutes=offset_minutes, seconds=7)
    expr = f"{minute} {hour} * * *"
    ours = [r.astimezone(UTC) for r in next_runs(expr, after, tz, 4)]
    assert ours == [r.astimezone(UTC) for r in _walk_minutes(expr, after, tz, 4)]
