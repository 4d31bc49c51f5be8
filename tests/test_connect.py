"""Connection options read as psql reads them."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from tui.db import ConnectOptions


def parsed(**kw: str) -> dict:
    return conninfo_to_dict(ConnectOptions(**kw).conninfo())  # type: ignore[arg-type]


def test_plain_database_name_and_flags() -> None:
    got = parsed(dbname="app", host="db.example", port="6543", user="ops")
    assert got["dbname"] == "app" and got["host"] == "db.example"
    assert got["port"] == "6543" and got["user"] == "ops"
    assert got["application_name"] == "cronjobs-tui"


def test_empty_options_leave_libpq_defaults() -> None:
    assert set(parsed()) == {"application_name", "connect_timeout"}


def test_conninfo_and_uri_and_service() -> None:
    got = parsed(dbname="service=prod application_name=mine")
    assert got["service"] == "prod" and got["application_name"] == "mine"
    got = parsed(dbname="postgresql://bob@h:5433/x?sslmode=require", user="alice")
    assert got["host"] == "h" and got["dbname"] == "x" and got["sslmode"] == "require"
    assert got["user"] == "alice"  # an explicit flag wins over the string
