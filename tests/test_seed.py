"""The seed's rollup, with its defects fixed, on a real server."""

from __future__ import annotations

from tests.conftest import Cluster

USER = "11111111-1111-4111-8111-111111111111"


def totals(cluster: Cluster) -> list[tuple]:
    return cluster.sql("select month_start_date::text, total_characters_processed "
                       "from monthly_usage where user_id = %s order by 1", [USER])


def test_rollup_counts_the_last_second_and_is_idempotent(cluster: Cluster) -> None:
    cluster.sql("delete from usage_events where user_id = %s", [USER])
    cluster.sql("delete from monthly_usage where user_id = %s", [USER])
    cluster.sql(
        "insert into usage_events (user_id, event_type, characters_processed, \"timestamp\") "
        "values (%(u)s, 'translate', 100, '2026-03-10 00:00:00+00'),"
        "       (%(u)s, 'translate', 20, '2026-03-14 23:59:59.5+00'),"
        "       (%(u)s, 'translate', 3, '2026-03-15 00:00:00+00'),"  # the next day: not yet
        "       (%(u)s, 'translate', 4000, '2026-02-28 12:00:00+00')",  # the month before
        {"u": USER})
    cluster.sql("select public.rollup_daily_usage('2026-03-14')")
    assert totals(cluster) == [("2026-03-01", 120)]
    cluster.sql("select public.rollup_daily_usage('2026-03-14')")  # a retry or a manual run
    assert totals(cluster) == [("2026-03-01", 120)]
    cluster.sql("select public.rollup_daily_usage('2026-03-15')")
    assert totals(cluster) == [("2026-03-01", 123)]


def test_rollup_pins_its_search_path_and_is_not_public(cluster: Cluster) -> None:
    config = cluster.value("select proconfig from pg_proc where proname = 'rollup_daily_usage'")
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
