"""The SQL of the data layer: one file per query, read once."""

from __future__ import annotations

from functools import cache
from importlib import resources

from psycopg import sql


@cache
def query(name: str) -> sql.SQL:
    text = resources.files("tui.db").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")
    return sql.SQL(text)  # static text shipped with the package


@cache
def template(name: str) -> sql.SQL:
    """SQL that ends up as text someone reads or stores (a fix shown by the doctor, the
    purge job's command): the file exactly, without its final newline. Such files carry no
    comment, since it would be part of that text."""
    text = query(name).as_string(None).removesuffix("\n")
    return sql.SQL(text)  # static text shipped with the package
