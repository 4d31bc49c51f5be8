"""The SQL of the data layer: one file per query, read once.

What several queries must say alike is written once, in a `fragment_<name>.sql` file, and a
query names it as `{<name>}` (composed with psycopg.sql, static text only): the bound of the
runid look-back (`{newest_runid}`: the newest runid, from the sequence when this role may read
it, so a role under row-level security does not walk the whole index for max(runid)), and the
facts tui/rules.py judges orphaned runs by, over a run aliased `d` (`{run_pid_alive}`: a
backend with its job_pid exists, null when not applicable or not visible, as on a standby whose
backends are not the primary's; `{run_before_server_start}`: a 'connecting'/'sending' row
older than the server's start), and whether pg_cron's launcher runs (`{scheduler_alive}`).
Fragments carry no `--` comment: they land mid-line.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from psycopg import sql

FRAGMENTS = ("newest_runid", "run_pid_alive", "run_before_server_start", "scheduler_alive")


def _text(name: str) -> str:
    return resources.files("tui.db").joinpath("sql", f"{name}.sql").read_text(encoding="utf-8")


@cache
def query(name: str) -> sql.SQL:
    text = _text(name)
    used = {f: sql.SQL(_text(f"fragment_{f}").strip())
            for f in FRAGMENTS if "{" + f + "}" in text}
    if used:
        text = sql.SQL(text).format(**used).as_string(None)
    return sql.SQL(text)  # static text shipped with the package


@cache
def template(name: str) -> sql.SQL:
    """SQL that ends up as text someone reads or stores (a fix shown by the doctor, the
    purge job's command): the file exactly, without its final newline. Such files carry no
    comment, since it would be part of that text."""
    text = query(name).as_string(None).removesuffix("\n")
    return sql.SQL(text)  # static text shipped with the package
