"""Plain-English descriptions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.cron.strategies import expressions
from tui.cron import describe


@pytest.mark.parametrize(
    ("expr", "text"),
    [
        ("0 3 * * SUN", "at 03:00, only on Sunday"),
        ("0 12 * * 7", "at 12:00, only on Sunday"),
        ("*/15 * * * *", "every 15 minutes"),
        ("* * * * *", "every minute"),
        ("30 2 * * *", "at 02:30"),
        ("0 0 * * 1-5", "at 00:00, Monday through Friday"),
        ("0 0 $ * *", "at 00:00, on the last day of the month"),
        ("0 0 $ * MON",
         "at 00:00, on the last day of the month, or on Monday (either day field may match)"),
        ("0 9 1 * MON",
         "at 09:00, on day 1 of the month, or on Monday (either day field may match)"),
        # A range or list of weekdays is "or" too (cron-descriptor gives no "or" for those).
        ("0 0 1,15 * MON-FRI", "at 00:00, on day 1 and 15 of the month, or on Monday through "
                               "Friday (either day field may match)"),
        ("0 9 1 * MON,WED", "at 09:00, on day 1 of the month, or on Monday or Wednesday (either "
                            "day field may match)"),
        (
            "0 9 */2 * MON",
            "at 09:00, every 2 days, but only if it is also Monday (both day fields must match)",
        ),
        # pg_cron ignores '#1' and the sixth field; the description must not claim otherwise.
        ("0 12 * * MON#1", "at 12:00, only on Monday"),
        ("0 12 * * * 30", "at 12:00"),
        ("4294967301 * * * *", "at 5 minutes past the hour"),
        ("30 seconds", "every 30 seconds"),
        ("1 second", "every second"),
        ("@reboot", "at server start"),
        ("@restart", "at server start"),
        ("@daily", "every day at 00:00"),
        ("@midnight", "every day at 00:00"),
        ("@hourly", "every hour, on the hour"),
        ("@weekly", "every Sunday at 00:00"),
        ("@monthly", "at 00:00 on the first day of every month"),
        ("@yearly", "never (pg_cron 1.6 bug): use 0 0 1 1 * for 1 January"),
        ("0 0 * * SAT-SUN", "never (no date matches)"),
        ("0 0 30 2 *", "never (no date matches)"),
        ("5/15 * * * *", "invalid schedule"),
        ("@DAILY", "invalid schedule"),
        ("", "invalid schedule"),
    ],
)
@pytest.mark.smoke  # cron-descriptor
def test_describe(expr: str, text: str) -> None:
    assert describe(expr) == text


def test_describe_follows_the_version() -> None:
    assert describe("@yearly", "1.5") == "every year on 1 January at 00:00"
    assert describe("@annually", "1.4") == "every year on 1 January at 00:00"
    assert describe("@annually", "1.6.4") == describe("@yearly", "1.6")
    assert describe("0 0 $ * *", "1.4") == "invalid schedule"
    # On 1.4 a step wider than the field selects only its first value.
    assert describe("*/60 * * * *", "1.4") == describe("0 * * * *")
    assert describe("0 0 */32 * *", "1.4") == describe("0 0 1 * *")


@settings(max_examples=300)
@given(expressions)
def test_describe_never_raises(expr: str) -> None:
    text = describe(expr)
    assert isinstance(text, str) and text
