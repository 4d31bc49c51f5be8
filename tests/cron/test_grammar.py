"""tui.cron.check against pg_cron's verdicts.

Every expected verdict below was observed on real servers (pg_cron 1.4.2 on PostgreSQL 15 and
1.6.5 on PostgreSQL 17) with cron.schedule in a rolled-back transaction.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from tests.cron.strategies import expressions
from tui.cron import Verdict, check, parse_version

# (expression, accepted by 1.4.2, accepted by 1.6.5)
SERVER_VERDICTS = [
    ("0 12 * * *", True, True),
    ("*/60 * * * *", True, False),
    ("0-59/60 * * * *", True, False),
    ("*/59 * * * *", True, True),
    ("0 */24 * * *", True, False),
    ("0 */23 * * *", True, True),
    ("0 0 */31 * *", True, True),
    ("0 0 */32 * *", True, False),
    ("0 0 * */12 *", True, True),
    ("0 0 * */13 *", True, False),
    ("0 0 * * */7", True, True),
    ("0 0 * * */8", True, False),
    ("*/0 * * * *", False, False),
    ("5/15 * * * *", False, False),
    ("0 25 * * *", False, False),
    ("60 * * * *", False, False),
    ("0 12 0 * *", False, False),
    ("0 12 * 0 *", False, False),
    ("0 12 * * 8", False, False),
    ("0 12 * * 7", True, True),
    ("0 12 * *", False, False),
    ("0 12 * * * 30", True, True),
    ("0 12 * * * # comment", True, True),
    ("0 12 * * MON#1", True, True),
    ("0 12 * * SAT-SUN", True, True),
    ("50-10 * * * *", True, True),
    ("0 12 * jan *", True, True),
    ("0 12 * Jan-Mar *", True, True),
    ("0 12 1 1 mon-fri", True, True),
    ("0 12 * * Sunday", False, False),
    ("0 12 * JANUARY *", False, False),
    ("0 0 * * SUN/2", False, False),
    ("0 0 jan * *", False, False),
    ("05 012 * * *", True, True),
    ("4294967301 * * * *", True, True),  # atoi wraps to 5
    ("99999999999 * * * *", False, False),
    ("*x * * * *", True, True),
    ("5.5 * * * *", True, True),
    ("5x * * * *", False, False),
    ("5, * * * *", False, False),
    (",5 * * * *", False, False),
    ("- * * * *", False, False),
    ("5-6/2/3 * * * *", True, True),
    ("*/+1 * * * *", False, False),
    (" 0 12 * * *", True, True),
    ("\t0\t12\t*\t*\t*", True, True),
    ("\n0 12 * * *", True, True),
    ("# c\n0 12 * * *", True, True),
    ("0 12\n* * *", False, False),
    ("\r0 12 * * *", False, False),
    ("", False, False),
    (" ", False, False),
    ("#comment", False, False),
    ("@daily", True, True),
    ("@daily extra", True, True),
    ("@DAILY", False, False),
    ("@dailyx", False, False),
    ("@", False, False),
    ("@ daily", False, False),
    ("@reboot", True, True),
    ("@restart", True, True),
    ("@annually", True, True),
    ("5 seconds", False, True),
    ("5 second", False, True),
    ("59 Seconds", False, True),
    ("5 SECONDS", False, True),
    ("5seconds", False, True),
    ("+5 seconds", False, True),
    ("5 seconds ", False, True),
    ("5 second ", False, False),
    ("-5 seconds", False, False),
    ("60 seconds", False, False),
    ("0 seconds", False, False),
    ("5 secs", False, False),
    ("5 seconds x", False, False),
    ("4294967301 seconds", False, True),
    ("0 0 $ * *", False, True),
    ("0 0 $ * MON", False, True),
    ("0 0 $\t* *", False, True),
    ("0 0 $,1 * *", False, False),
    ("0 0 1,$ * *", False, False),
    ("0 0 $x * *", False, False),
    ("0 0 * $ *", False, False),
    ("0 0 L * *", False, False),
    ("0 0 ? * *", False, False),
    ("0 12 * * * " + "x" * 980, True, True),  # 991 bytes
    ("0 12 * * * " + "x" * 990, False, False),  # 1001 bytes
    ("5 seconds" + " " * 991, False, True),  # the length limit is the cron parser's only
]


@pytest.mark.parametrize(("expr", "on_14", "on_16"), SERVER_VERDICTS)
def test_verdicts_match_real_servers(expr: str, on_14: bool, on_16: bool) -> None:
    assert check(expr, "1.4").valid is on_14
    assert check(expr, "1.6").valid is on_16


def test_invalid_verdict_is_worded_like_pg_cron() -> None:
    verdict = check("5/15 * * * *")
    assert verdict == Verdict(
        valid=False,
        error="invalid schedule: 5/15 * * * *",
        hint="A step needs '*' or a range before it: use '*/N' or '5-59/N', not '5/N'.",
    )


@pytest.mark.parametrize(
    ("expr", "version", "hint"),
    [
        (
            "*/60 * * * *",
            "1.6",
            "pg_cron 1.6.5 and later reject a step larger than 59 in the minute field "
            "(1.6.4 and older accept it and fire only at 0).",
        ),
        ("@DAILY", "1.6", "Macros are lowercase: use @daily."),
        ("30 seconds", "1.4", "'N seconds' schedules need pg_cron 1.5 or newer."),
        ("0 0 $ * *", "1.5", "'$' (last day of the month) needs pg_cron 1.6 or newer."),
        ("0 25 * * *", "1.6", "The hour field takes 0-23; 25 is out of range."),
        (
            "0 12 * *",
            "1.6",
            "The day-of-week field is missing: pg_cron needs five fields "
            "(minute hour day-of-month month day-of-week).",
        ),
    ],
)
def test_hints_say_what_would_be_valid(expr: str, version: str, hint: str) -> None:
    assert check(expr, version).hint == hint


def test_kinds_and_seconds() -> None:
    assert check("0 3 * * SUN").kind == "cron"
    assert check("@hourly").kind == "cron"
    assert check("@reboot").kind == "reboot"
    assert check("@restart").kind == "reboot"
    seconds = check("15 seconds", "1.5")
    assert (seconds.kind, seconds.seconds) == ("seconds", 15)
    assert check("nonsense").kind is None
    assert check("0 3 * * SUN").seconds is None


def test_warnings_for_surprises() -> None:
    assert check("0 12 * * * 30").warnings == (
        "pg_cron reads five fields and ignores the rest: '30' has no effect. Six fields look "
        "like another cron's (Quartz and Spring put seconds first, AWS a year last); pg_cron "
        "reads '0 12 * * *' as minute hour day-of-month month day-of-week, so it runs at "
        "12:00.",
    )
    assert check("0 12 * * MON#1").warnings == (
        "'#1' is ignored: 'MON#1' fires on every Monday, not only on one of them in the month.",
    )
    assert check("0 0 * * SAT-SUN").warnings == (
        "The range SAT-SUN in the day-of-week field does not wrap around, so it selects nothing.",
        "This schedule never fires.",
    )
    assert check("*/60 * * * *", "1.4").warnings == (
        "'*/60' in the minute field selects only 0, not every 60; pg_cron 1.6.5 and later "
        "reject it.",
    )
    assert check("0 9 1 * MON").warnings == (
        "Both day-of-month and day-of-week are restricted, so it runs on days matching "
        "either one (cron's OR rule), not only on days matching both.",
    )
    assert "AND rule" in check("0 9 */2 * MON").warnings[0]
    assert check("0 0 30 2 *").warnings == ("This schedule never fires.",)


@pytest.mark.parametrize(
    "expr", ["0 12 * * 7", "0 12 * * 0", "0 0 * * 1-5", "@weekly", "0 0 $ * *"]
)
def test_no_warning_for_ordinary_schedules(expr: str) -> None:
    assert check(expr).warnings == ()


@pytest.mark.parametrize(
    ("extversion", "expected"),
    [
        ("1.4-1", "1.4"),
        ("1.4", "1.4"),
        ("1.3", "1.4"),
        ("1.0", "1.4"),
        ("1.5", "1.5"),
        ("1.5.2", "1.5"),
        ("1.6", "1.6"),
        ("1.6.4", "1.6"),
        ("1.7", "1.6"),
        ("2.0", "1.6"),
        ("garbage", "1.4"),
    ],
)
def test_parse_version(extversion: str, expected: str) -> None:
    assert parse_version(extversion) == expected


def test_check_accepts_raw_extversion() -> None:
    assert check("5 seconds", "1.4-1").valid is False
    assert check("5 seconds", "1.6.4").valid is True


@settings(max_examples=300)
@given(expressions)
def test_check_never_raises_and_is_consistent(expr: str) -> None:
    for version in ("1.4", "1.5", "1.6"):
        verdict = check(expr, version)
        if verdict.valid:
            assert verdict.error is None and verdict.kind is not None
        else:
            assert verdict.error == f"invalid schedule: {expr}"
            assert verdict.hint and verdict.kind is None and verdict.warnings == ()
    # Nothing valid on an older version becomes invalid on 1.5, except nothing at all.
    if check(expr, "1.4").valid:
        assert check(expr, "1.5").valid
