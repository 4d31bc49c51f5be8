"""The seed's rollup, with its defects fixed, on a real server, against the seed's own.

The seed's definition is read from its spec (tests/data/seed-07-pg-cron.md, a verbatim copy)
and loaded into a schema of its own, `seed_copy`, with its tables pointed there: the
events as a view of ours, its totals in a table of its own. The seed's function takes the day
from now() and pins no search_path (one of its defects), so the test gives it the clock of
each night it would have run on through a `seed_copy.now()` found first on the search path.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import psycopg
import pytest

from tests.conftest import Cluster

SPEC = Path(__file__).parent / "data" / "seed-07-pg-cron.md"
SEED_FUNCTION_START = "CREATE OR REPLACE FUNCTION public.rollup_daily_usage()"
SEED_FUNCTION_END = "SECURITY DEFINER;"


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]


def seed_function_sql() -> str:
    """The seed's CREATE FUNCTION, as its spec gives it, moved to schema seed_copy."""
    text = SPEC.read_text(encoding="utf-8")
    start = text.index(SEED_FUNCTION_START)
    end = text.index(SEED_FUNCTION_END, start) + len(SEED_FUNCTION_END)
    return text[start:end].replace("public.", "seed_copy.")


@pytest.fixture
def seed_copy(cluster: Cluster) -> Iterator[Cluster]:
    cluster.sql("drop schema if exists seed_copy cascade")
    cluster.sql("create schema seed_copy")
    cluster.sql("create view seed_copy.usage_events as select * from public.usage_events")
    cluster.sql("create table seed_copy.monthly_usage (like public.monthly_usage including all)")
    cluster.sql("create function seed_copy.now() returns timestamptz language sql stable "
                "as $$ select current_setting('seed_copy.now')::timestamptz $$")
    cluster.sql(seed_function_sql())
    yield cluster
    cluster.sql("drop schema seed_copy cascade")


@dataclass(frozen=True)
class Event:
    user: str
    kind: str
    characters: int
    at: datetime


def insert(cluster: Cluster, events: list[Event]) -> None:
    with cluster.connect() as conn, conn.cursor() as cur:
        cur.executemany(
            "insert into public.usage_events "
            "(user_id, event_type, characters_processed, \"timestamp\") values (%s, %s, %s, %s)",
            [(e.user, e.kind, e.characters, e.at) for e in events])


def run_ours(cluster: Cluster, day: date) -> None:
    cluster.sql("select public.rollup_daily_usage(%s)", [day])


def run_seeds(cluster: Cluster, day: date) -> list[str]:
    """The seed's function as pg_cron would run it at 00:05 UTC the day after `day`;
    returns what it logged."""
    logged: list[str] = []
    at = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc)
    with cluster.connect() as conn:
        conn.add_notice_handler(lambda d: logged.append(d.message_primary or ""))
        conn.execute("set timezone = 'UTC'")
        conn.execute("set client_min_messages = log")
        # The seed pins no search_path: its now() is the first one found.
        conn.execute("set search_path = seed_copy, pg_catalog")
        conn.execute("select set_config('seed_copy.now', %s, false)",
                     [(at + timedelta(minutes=5)).isoformat()])
        conn.execute("select seed_copy.rollup_daily_usage()")
    return logged


def totals(cluster: Cluster, table: str, users: list[str]) -> dict[tuple[str, str], int]:
    query = {"ours": "select user_id::text, month_start_date::text, total_characters_processed "
                     "from public.monthly_usage where user_id::text = any(%s)",
             "seed": "select user_id::text, month_start_date::text, total_characters_processed "
                     "from seed_copy.monthly_usage where user_id::text = any(%s)"}[table]
    return {(u, m): t for u, m, t in cluster.sql(query, [users])}


def counted(e: Event) -> bool:
    return e.kind == "TTS_REQUEST" and e.characters > 0


def expected_ours(events: list[Event], days: list[date]) -> dict[tuple[str, str], int]:
    """Each month's TTS characters from its first day to the end of the last day rolled up."""
    out: dict[tuple[str, str], int] = {}
    for day in days:
        month = day.replace(day=1)
        start = utc(month.year, month.month, 1)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), timezone.utc)
        for user in {e.user for e in events}:
            total = sum(e.characters for e in events
                        if e.user == user and counted(e) and start <= e.at < end)
            if total:
                out[(user, month.isoformat())] = total
    return out


def expected_seed(events: list[Event], runs: list[date]) -> dict[tuple[str, str], int]:
    """The seed's arithmetic: each run adds its day's sum over [00:00:00, 23:59:59]."""
    out: dict[tuple[str, str], int] = {}
    for day in runs:
        start = datetime.combine(day, datetime.min.time(), timezone.utc)
        end = start + timedelta(days=1) - timedelta(seconds=1)
        for e in events:
            if counted(e) and start <= e.at <= end:
                key = (e.user, day.replace(day=1).isoformat())
                out[key] = out.get(key, 0) + e.characters
    return out


def test_rollup_counts_what_the_seed_counts_without_its_defects(seed_copy: Cluster) -> None:
    cluster = seed_copy
    a, b = str(uuid.uuid4()), str(uuid.uuid4())  # a: hit by the lost half second; b: not
    events = [
        Event(a, "TTS_REQUEST", 100, utc(2025, 1, 30, 0, 0, 0)),       # midnight: counted
        Event(a, "TTS_REQUEST", 7, utc(2025, 1, 31, 23, 59, 59)),       # the seed's last second
        Event(a, "TTS_REQUEST", 20, utc(2025, 1, 31, 23, 59, 59, 500000)),  # the seed loses it
        Event(a, "TTS_REQUEST", 0, utc(2025, 1, 31, 12)),               # no characters
        Event(a, "PAGE_EXTRACTION", 50, utc(2025, 1, 31, 12)),          # not speech
        Event(a, "SIGN_IN", 0, utc(2025, 1, 31, 13)),
        Event(a, "TTS_REQUEST", 3, utc(2025, 2, 1, 0, 0, 0)),           # next day, next month
        Event(a, "TTS_REQUEST", 4, utc(2025, 2, 1, 0, 0, 0, 500000)),
        Event(a, "TTS_REQUEST", 9, utc(2025, 2, 2, 0, 0, 0)),           # after the last run
        Event(b, "TTS_REQUEST", 1000, utc(2025, 1, 31, 8)),
        Event(b, "tts_request", 300, utc(2025, 1, 31, 9)),              # not the seed's type
        Event(b, "PAGE_EXTRACTION", 500, utc(2025, 2, 1, 10)),
        Event(b, "TTS_REQUEST", 250, utc(2025, 2, 1, 23, 59, 59)),
    ]
    insert(cluster, events)
    days = [date(2025, 1, 30), date(2025, 1, 31), date(2025, 2, 1)]
    users = [a, b]

    for day in days:  # one night after another, as pg_cron runs them
        run_ours(cluster, day)
        run_seeds(cluster, day)
    ours, seeds = totals(cluster, "ours", users), totals(cluster, "seed", users)
    assert ours == expected_ours(events, days)
    assert seeds == expected_seed(events, days)
    assert ours == {(a, "2025-01-01"): 127, (a, "2025-02-01"): 7,
                    (b, "2025-01-01"): 1000, (b, "2025-02-01"): 250}
    # Where the seed's defects do not reach, the same totals; where the lost last second
    # does, exactly the events of the half-open window's last second.
    for key in ours:
        if key != (a, "2025-01-01"):
            assert ours[key] == seeds[key], key
    assert ours[(a, "2025-01-01")] - seeds[(a, "2025-01-01")] == 20

    for day in days:  # every night again: a retry, a manual run
        run_ours(cluster, day)
        run_seeds(cluster, day)
    assert totals(cluster, "ours", users) == ours
    # The seed adds each day again: every total doubles.
    assert totals(cluster, "seed", users) == expected_seed(events, days + days)
    assert totals(cluster, "seed", users) == {key: 2 * v for key, v in seeds.items()}


def test_rollup_logs_its_start_and_end_as_the_seed_does(seed_copy: Cluster) -> None:
    cluster = seed_copy
    users = [str(uuid.uuid4()) for _ in range(3)]
    insert(cluster, [Event(users[0], "TTS_REQUEST", 10, utc(2024, 6, 10, 8)),
                     Event(users[1], "TTS_REQUEST", 20, utc(2024, 6, 3, 8)),
                     Event(users[2], "PAGE_EXTRACTION", 30, utc(2024, 6, 10, 8))])
    logged: list[tuple[str, str]] = []
    with cluster.connect() as conn:
        conn.add_notice_handler(
            lambda d: logged.append((d.severity_nonlocalized or "", d.message_primary or "")))
        conn.execute("set client_min_messages = log")
        conn.execute("select public.rollup_daily_usage('2024-06-10')")
    seeds = run_seeds(cluster, date(2024, 6, 10))
    assert seeds[0] == "Starting daily usage rollup for 2024-06-10"
    assert logged == [("LOG", seeds[0]),
                      ("LOG", "Finished daily usage rollup for 2024-06-10: 2 users updated.")]
    assert seeds[-1] == "Finished daily usage rollup."


def test_rollup_pins_its_search_path_and_is_not_public(cluster: Cluster) -> None:
    config = cluster.value("select proconfig from pg_proc where proname = 'rollup_daily_usage' "
                           "and pronamespace = 'public'::regnamespace")
    assert config == ["search_path=pg_catalog, public"]
    assert not cluster.value(
        "select has_function_privilege('public', 'public.rollup_daily_usage(date)', 'execute')")


def test_seed_indexes_and_jobs(cluster: Cluster) -> None:
    indexes = {name for (name,) in cluster.sql(
        "select indexname from pg_indexes where tablename = 'usage_events'")}
    assert {"usage_events_timestamp_idx", "usage_events_user_timestamp_idx"} <= indexes
    jobs = dict(cluster.sql("select jobname, schedule from cron.job"))
    assert jobs["weekly-adapter-check"] == "0 3 * * SUN"
    assert jobs["daily-usage-rollup"] == "5 0 * * *"
    command = cluster.value("select command from cron.job where jobname = 'weekly-adapter-check'")
    assert "net.http_post" in command and "/functions/v1/adapter-health" in command
    assert f"Bearer {cluster.service_key}" in command


def test_demo_usage_has_other_event_types_and_the_rollup_counts_speech_only(
        cluster: Cluster) -> None:
    from tui.lab.seed import _sql

    with psycopg.connect(cluster.conninfo) as conn:  # rolled back: the shared cluster stays
        conn.execute("delete from public.usage_events")
        conn.execute("delete from public.monthly_usage")
        conn.execute(_sql("demo_data.sql"))
        kinds = dict(conn.execute("select event_type, count(*) from public.usage_events "
                                  "group by 1").fetchall())
        assert set(kinds) == {"TTS_REQUEST", "PAGE_EXTRACTION", "SIGN_IN"}
        yesterday = conn.execute("select (now() at time zone 'UTC')::date - 1").fetchone()[0]
        conn.execute("select public.rollup_daily_usage(%s)", [yesterday])
        rolled, speech, everything = conn.execute(
            "select (select sum(total_characters_processed) from public.monthly_usage),"
            "       sum(characters_processed) filter (where event_type = 'TTS_REQUEST'),"
            "       sum(characters_processed)"
            " from public.usage_events"
            " where \"timestamp\" >= date_trunc('month', %(d)s::date)::timestamp at time zone 'UTC'"
            "   and \"timestamp\" < (%(d)s::date + 1)::timestamp at time zone 'UTC'",
            {"d": yesterday}).fetchone()
        conn.rollback()
    assert rolled == speech and 0 < speech < everything
