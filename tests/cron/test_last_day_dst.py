"""'$' (last day of the month) near a DST change, as pg_cron decides it.

pg_cron does not ask the calendar. Each minute the launcher checks (ShouldRunTask) whether the
local day of "now + 24 hours" is the 1st:
  v1.6.4 src/pg_cron.c:973   tomorrowTime_t = timestamptz_to_time_t(currentTime + USECS_PER_DAY)
         src/pg_cron.c:986-988 tomorrow_tm = pg_localtime(&tomorrowTime_t, pg_tzset(cron_timezone));
                               lastdom = (flags & DOM_LAST) && tomorrow_tm->tm_mday == 1;
                               thisdom = lastdom || bit_test(schedule->dom, dayOfMonth)
  v1.6.7 src/pg_cron.c:974, 987-989 (the same test, reordered: is_lastdom = tm_mday == 1;
         thisdom = bit_test(dom) || (is_lastdom && DOM_LAST))
  master 16618e6 src/pg_cron.c:1000, 1013-1015 (as 1.6.7)
'$' itself came with 1.6.0 (entry.c sets DOM_LAST: v1.6.4 src/entry.c:224, v1.6.7 :243);
1.6.5 and 1.6.6 lie between two tags that test alike. 1.4 and 1.5 reject '$'.

USECS_PER_DAY is 24 hours of real time, so across a change of the UTC offset "tomorrow" is
23 or 25 hours of wall clock away:
* clocks forward in the next 24 hours (Europe/Berlin, Sunday 31 March 2024, 02:00 CET -> 03:00
  CEST): at Saturday 30 March 23:30 CET (22:30 UTC), +24 h is 31 March 22:30 UTC = 1 April
  00:30 CEST, a 1st. pg_cron fires '30 23 $ * *' on 30 March as well as on 31 March.
* clocks back in the next 24 hours (Europe/Berlin, Sunday 31 October 2021, 03:00 CEST -> 02:00
  CET): at 31 October 00:30 CEST (30 October 22:30 UTC), +24 h is 31 October 22:30 UTC =
  23:30 CET on the 31st, not a 1st. pg_cron skips '30 0 $ * *' in October 2021 altogether.
* clocks back later on a 1st (America/New_York, Sunday 1 November 2026, 02:00 EDT -> 01:00
  EST): at 1 November 00:30 EDT (04:30 UTC), +24 h is 2 November 04:30 UTC = 1 November 23:30
  EST, a 1st. pg_cron fires '30 0 $ * *' on 1 November 2026 as well as on 31 October.
The first two need the change on the calendar's last day: the EU's zones in years when 31 March
or 31 October is a Sunday (2024, 2030 for March; 2021, 2027 for October). The third needs a
fall-back on a 1st after midnight: the US when 1 November is a Sunday (2026, 2037), and the
zones that go back on the first Sunday of April (Australia, New Zealand) when it is the 1st.
libfaketime does not move the launcher's clock (PG_CRON.md), so these are derived from the
source, and checked against an oracle that walks real minutes exactly as the launcher does.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tui.cron import next_runs

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")


def pg_cron_runs(expr_minute: int, expr_hour: int | None, tz: ZoneInfo,
                 start: datetime, end: datetime) -> list[datetime]:
    """The launcher's loop for 'M H $ * *' (H None: '*'): every real minute, local time by
    pg_localtime, '$' by the 24-hour look-ahead. Independent of the engine's day walk."""
    found = []
    t = start.astimezone(UTC).replace(second=0, microsecond=0) + timedelta(minutes=1)
    while t < end:
        local = t.astimezone(tz)
        if local.minute == expr_minute and (expr_hour is None or local.hour == expr_hour) \
                and (t + timedelta(days=1)).astimezone(tz).day == 1:
            found.append(t)
        t += timedelta(minutes=1)
    return found


def test_spring_forward_on_the_last_day_fires_the_day_before() -> None:
    runs = next_runs("30 23 $ * *", datetime(2024, 3, 29, tzinfo=UTC), BERLIN, 3)
    assert [r.isoformat() for r in runs] == [
        "2024-03-30T23:30:00+01:00",  # not the calendar's last day: pg_cron's look-ahead
        "2024-03-31T23:30:00+02:00",
        "2024-04-30T23:30:00+02:00",
    ]


def test_fall_back_on_the_last_day_skips_the_month() -> None:
    runs = next_runs("30 0 $ * *", datetime(2021, 9, 1, tzinfo=UTC), BERLIN, 3)
    assert [r.isoformat() for r in runs] == [
        "2021-09-30T00:30:00+02:00",
        "2021-11-30T00:30:00+01:00",  # no run on 31 October 2021
        "2021-12-31T00:30:00+01:00",
    ]
    # 01:30 on the same night is past the lost hour's reach: +24 h lands on 1 November.
    assert next_runs("30 1 $ 10 *", datetime(2021, 10, 1, tzinfo=UTC), BERLIN, 1)[0] == \
        datetime(2021, 10, 31, 1, 30, tzinfo=BERLIN)


def test_fall_back_later_on_a_first_makes_its_first_hour_a_last_day() -> None:
    ny = ZoneInfo("America/New_York")
    runs = next_runs("30 0 $ * *", datetime(2026, 10, 15, tzinfo=UTC), ny, 3)
    assert [r.isoformat() for r in runs] == [
        "2026-10-31T00:30:00-04:00",
        "2026-11-01T00:30:00-04:00",  # the 1st: 24 hours later it is still the 1st
        "2026-11-30T00:30:00-05:00",
    ]
    # From 01:00 the look-ahead reaches the 2nd: one run on the 1st, in its first hour only.
    assert next_runs("30 1 $ 11 *", datetime(2026, 10, 15, tzinfo=UTC), ny, 1)[0].day == 30


def test_the_calendar_and_pg_cron_agree_where_the_change_is_not_on_a_last_day() -> None:
    # Berlin 2026: 29 March and 25 October are Sundays, so nothing moves.
    runs = next_runs("30 23 $ 3,10 *", datetime(2026, 1, 1, tzinfo=UTC), BERLIN, 2)
    assert [r.date().isoformat() for r in runs] == ["2026-03-31", "2026-10-31"]
    # New York falls back at 02:00 on Sunday 1 November 2026: from any hour of 31 October
    # the look-ahead lands on the 1st, as the calendar says.
    ny = ZoneInfo("America/New_York")
    for hour in (0, 1, 2, 23):
        got = next_runs(f"30 {hour} $ 10 *", datetime(2026, 10, 1, tzinfo=UTC), ny, 1)
        assert got == [datetime(2026, 10, 31, hour, 30, tzinfo=ny)]


@pytest.mark.parametrize(("zone", "years"), [
    ("Europe/Berlin", (2021, 2024)),
    ("Europe/London", (2021, 2024)),       # changes at 01:00 UTC too, the same Sundays
    ("America/New_York", (2026,)),
    ("America/Santiago", (2026,)),         # changes at 24:00 local on the first Sunday's eve
    ("Australia/Lord_Howe", (2026,)),      # a half-hour change
    ("Australia/Sydney", (2029,)),         # back on Sunday 1 April 2029 at 03:00
    ("Pacific/Apia", (2011,)),             # skipped 30 December 2011 (crossed the date line)
    ("UTC", (2026,)),
])
def test_every_minute_around_month_ends_matches_the_launchers_walk(
        zone: str, years: tuple[int, ...]) -> None:
    tz = ZoneInfo(zone)
    for year in years:
        for month in range(1, 13):
            nxt = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
            start, end = nxt - timedelta(days=4), nxt + timedelta(days=1)
            for hour in (None, 0, 23):
                minute = 30 if hour is not None else 0
                expr = f"{minute} {'*' if hour is None else hour} $ * *"
                expected = pg_cron_runs(minute, hour, tz, start, end)
                # In UTC: PEP 495 makes a repeated local time unequal to any other zone's.
                got = [r.astimezone(UTC) for r in next_runs(expr, start, tz, len(expected) + 30)
                       if r < end]
                assert got == expected, (zone, year, month, expr)
