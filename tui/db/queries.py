"""The SQL of the data layer: one file per query, read once."""

from __future__ import annotations

from functools import cache
from importlib import resources

from psycopg import sql


@cache
def query(name: str) -> sql.SQL:
    text = resources.files("tui.db").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    return sql.SQL(text)  # type: ignore[arg-type]  # static text shipped with the package
