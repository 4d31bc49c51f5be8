"""Schedules written in another cron's dialect: the server's verdict, and our words for it.

The verdicts are the real server's (``cron.schedule`` in a rolled-back transaction, on each
pg_cron release of the suite); what pg_cron then does with an accepted one is our engine's
reading, which tests/cron/test_scheduler_timing.py holds against the real scheduler.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import psycopg
import pytest

from tests.conftest import Cluster
from tests.cron.test_differential import ServerJudge
from tui.cron import check, describe, next_runs

# (schedule, what the warning or hint must say)
ACCEPTED = [
    ("0 0 12 * * ?", "runs at 00:00, on day 12 of the month"),
    ("0 0 12 * * ? 2030", "runs at 00:00, on day 12 of the month"),
    ("*/10 * * * * *", "runs every 10 minutes"),
    ("0 12 * * MON#2", "fires on every Monday"),
]
REJECTED = [
    ("0 0 12 ? * MON", "with seconds first and '?' (\"no specific value\") are Quartz's or "
                       "Spring's, not pg_cron's (no seconds field, '*' for any day): here "
                       "'0 12 * * MON'"),
    ("0 12 ? * *", "'?' (Quartz's \"no specific value\") is not pg_cron's"),
    ("0 30 9 * * MON-FRI", "here '30 9 * * MON-FRI'"),
    ("0 0 L * *", "'L' (Quartz's last day of the month) is not pg_cron's"),
    ("0 0 15W * *", "'W' (Quartz's nearest weekday) is not pg_cron's"),
    ("0 0 * * 5L", "no way to say the last Friday"),
    ("H 0 * * *", "'H' (Jenkins' hashed value)"),
]


@pytest.fixture(scope="module")
def judge(cluster: Cluster) -> Iterator[ServerJudge]:
    with psycopg.connect(cluster.conninfo, autocommit=False) as conn:
        yield ServerJudge(conn)


@pytest.mark.parametrize(("expr", "says"), ACCEPTED)
def test_accepted_dialects_warn_what_pg_cron_will_do(judge: ServerJudge, cluster: Cluster,
                                                     expr: str, says: str) -> None:
    assert judge.verdict(expr) is None  # the server accepts it...
    verdict = check(expr, cluster.pg_cron)
    assert verdict.valid
    assert any(says in w for w in verdict.warnings), verdict.warnings  # ...and we say so


@pytest.mark.parametrize(("expr", "says"), REJECTED)
def test_rejected_dialects_are_hinted(judge: ServerJudge, cluster: Cluster, expr: str,
                                      says: str) -> None:
    assert judge.verdict(expr) == f"invalid schedule: {expr}"
    verdict = check(expr, cluster.pg_cron)
    assert not verdict.valid and verdict.hint is not None
    assert says in verdict.hint


def test_the_suggested_rewrite_is_accepted_by_the_server(judge: ServerJudge) -> None:
    assert judge.verdict("0 12 * * MON") is None
    assert judge.verdict("30 9 * * MON-FRI") is None


def test_last_day_hint_follows_the_release() -> None:
    assert "'$', alone in the day-of-month field" in (check("0 0 L * *", "1.6").hint or "")
    assert "from 1.6 on, and nothing before" in (check("0 0 L * *", "1.4").hint or "")


def test_quartz_noon_really_reads_as_midnight_on_the_twelfth() -> None:
    start = datetime(2026, 3, 1, tzinfo=timezone.utc)
    assert next_runs("0 0 12 * * ?", start, "UTC", 2) == [
        datetime(2026, 3, 12, tzinfo=timezone.utc), datetime(2026, 4, 12, tzinfo=timezone.utc)]
    warning = check("0 0 12 * * ?").warnings[0]
    assert "If the first field was seconds, write '0 12 * * *' (at 12:00)" in warning


def test_comments_and_five_fields_are_not_foreign() -> None:
    assert not any("another cron" in w for w in check("0 12 * * * # nightly").warnings)
    assert check("0 12 * * *").warnings == ()


@pytest.mark.parametrize(("expr", "either", "both"), [
    ("0 0 1,15 * MON-FRI",
     "on day 1 and 15 of the month, or on Monday through Friday (either day field may match)",
     "on day 1 and 15 of the month, but only if it is also Monday through Friday (both day "
     "fields must match)"),
    ("0 9 1 * MON,WED",
     "on day 1 of the month, or on Monday or Wednesday (either day field may match)",
     "but only if it is also Monday or Wednesday (both day fields must match)"),
])
def test_means_follows_match_dom_and_dow(expr: str, either: str, both: str) -> None:
    assert either in describe(expr, "1.6")
    assert both in describe(expr, "1.6+match_dom_and_dow")


def test_the_doctor_names_a_foreign_schedule(cluster: Cluster) -> None:
    import contextlib
    import io
    import json

    from tui.cli import main

    name = "cronjobs-tui-quartz-noon"
    cluster.sql("select cron.schedule(%s, '0 0 12 * * ?', 'select 1')", [name])
    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            main(["doctor", "--json", "-d", cluster.conninfo])
    finally:
        cluster.sql("select cron.unschedule(%s)", [name])
    findings = json.loads(out.getvalue())["findings"]
    found = next(f for f in findings if f["check"] == "schedule.dialect")
    assert found["status"] == "warning"
    (detail,) = [d for d in found["details"] if name in d]
    assert "'0 0 12 * * ?'" in detail and "so it runs at 00:00, on day 12 of the month" in detail
