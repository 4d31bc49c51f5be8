"""The seed's system: its schema, its two jobs, and the demo's extras.

Installed by `cronjobs-tui demo` and by the tests, in the database pg_cron runs in.
"""

from __future__ import annotations

import secrets
from importlib import resources

import psycopg
from psycopg import sql

WEEKLY = "weekly-adapter-check"
DAILY = "daily-usage-rollup"

# Every minute, so the run stream fills within a minute of starting the demo.
DEMO_JOBS = {
    "demo-heartbeat": "select 1",
    "demo-failing": "select 1 / 0 as broken_on_purpose",
    "demo-slow-report": "select pg_sleep(4), count(*) from public.usage_events",
}


def _sql(name: str) -> str:
    return resources.files("tui.lab.seed").joinpath(name).read_text(encoding="utf-8")


def fake_service_key() -> str:
    """A JWT-shaped stand-in for a Supabase service-role key (never a real one)."""
    header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    payload = "eyJyb2xlIjoic2VydmljZV9yb2xlIiwiaXNzIjoiZGVtbyJ9"
    return f"{header}.{payload}.{secrets.token_urlsafe(32)}"


def weekly_command(conn: psycopg.Connection, functions_url: str, service_key: str) -> str:
    """The seed's HTTP job, with its values quoted as SQL literals, never pasted in."""
    template = sql.SQL(
        "select net.http_post(\n"
        "    url := {url},\n"
        "    headers := jsonb_build_object(\n"
        "        'Content-Type', 'application/json',\n"
        "        'Authorization', {bearer}\n"
        "    ),\n"
        "    body := jsonb_build_object('source', 'pg_cron', 'check', 'adapters'),\n"
        "    timeout_milliseconds := 5000\n"
        ") as request_id"
    )
    return template.format(
        url=sql.Literal(functions_url.rstrip("/") + "/adapter-health"),
        bearer=sql.Literal(f"Bearer {service_key}"),
    ).as_string(conn)


def install(conn: psycopg.Connection, *, functions_url: str, service_key: str | None = None,
            demo: bool = False) -> None:
    """Create pg_cron, the seed's schema and jobs (and the demo's extras) if missing."""
    conn.execute("create extension if not exists pg_cron")
    conn.execute(_sql("schema.sql"))
    existing = {
        name for (name,) in conn.execute("select jobname from cron.job where jobname is not null")
    }
    if WEEKLY not in existing:
        command = weekly_command(conn, functions_url, service_key or fake_service_key())
        conn.execute("select cron.schedule(%s, %s, %s)", [WEEKLY, "0 3 * * SUN", command])
    if DAILY not in existing:
        conn.execute("select cron.schedule(%s, %s, %s)",
                     [DAILY, "5 0 * * *", "SELECT public.rollup_daily_usage()"])
    if demo:
        conn.execute(_sql("demo_data.sql"))
        for name, command in DEMO_JOBS.items():
            if name not in existing:
                conn.execute("select cron.schedule(%s, %s, %s)", [name, "* * * * *", command])
