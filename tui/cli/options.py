"""The psql-style connection options every subcommand takes, and the settings they select."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any

from tui import config
from tui.cli import types
from tui.cli.types import Parser
from tui.db import ConnectOptions, Database
from tui.models import ServerFacts


def connection_parser(*, suppress: bool = False) -> argparse.ArgumentParser:
    """The connection options. Given `suppress`, an option left out sets nothing: the copy
    that each subcommand takes must not overwrite what was given before the subcommand
    (`cronjobs-tui -h db jobs`), since argparse applies a subparser's defaults last."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parent = Parser(add_help=False)
    conn = parent.add_argument_group("connection (as psql, before or after the command; empty "
                                     "options fall back to PG* variables, pg_service.conf "
                                     "and .pgpass)")
    conn.add_argument("-d", "--dbname", type=libpq(types.conninfo), default=default(None),
                      help="database name, conninfo string or URI")
    conn.add_argument("-h", "--host", type=libpq(str), default=default(None),
                      help="server host or socket directory")
    conn.add_argument("-p", "--port", type=libpq(types.ports), default=default(None),
                      help="server port")
    conn.add_argument("-U", "--username", type=libpq(str), default=default(None),
                      help="role to connect as")
    conn.add_argument("--read-only", action="store_true", default=default(False),
                      help="no mutating actions, and a read-only session at the server")
    conn.add_argument("--statement-timeout", type=types.whole(1, 86_400_000, " ms"),
                      default=default(None), metavar="MS",
                      help="per-query timeout in milliseconds (default 5000, or the config's)")
    config_option(conn, suppress=suppress)
    conn.add_argument("--profile", action="append", type=libpq(str), default=default(None),
                      metavar="NAME",
                      help="a named connection from the config's [profiles.NAME] (default: "
                           "$CRONJOBS_TUI_PROFILE); -d/-h/-p/-U override its dsn; give it "
                           "several times for the fleet view")
    log_option(conn, suppress=suppress)
    return parent


def libpq(parse: Callable[[str], str]) -> Callable[[str], str | None]:
    """A connection option's type: empty falls back to libpq's defaults (None), as psql's
    options do; NUL and control characters, which libpq cannot take, are refused."""
    def check(text: str) -> str | None:
        if not text:
            return None
        if re.search(r"[\x00-\x1f\x7f]", text):
            raise types.Refused(f"{types.shown(text)} holds control characters")
        return parse(text)

    check.__name__ = "connection option"
    return check


def log_option(group: Any, *, suppress: bool) -> None:
    group.add_argument("--log", metavar="FILE", type=types.writable_file,
                       default=argparse.SUPPRESS if suppress else None,
                       help="append what happened (reconnects, refusals, errors, with "
                            "tracebacks) to FILE as JSON lines, secrets masked (default: off)")


def config_option(group: Any, *, suppress: bool) -> None:
    group.add_argument("--config", metavar="FILE", type=types.toml_file,
                       default=argparse.SUPPRESS if suppress else None,
                       help="settings file (default: $CRONJOBS_TUI_CONFIG or the platform's "
                            "config dir)/config.toml")


def settings_from(args: argparse.Namespace) -> config.Settings:
    """The config's settings, with the one profile asked for (--profile or the environment)
    applied."""
    profiles = getattr(args, "profile", None) or []
    if len(profiles) > 1:
        raise config.ConfigError(f"--profile was given {len(profiles)} times: this takes one "
                                 "(several open the fleet view: cronjobs-tui --profile A "
                                 "--profile B)")
    return config.load(args.config, profile=profiles[0] if profiles else None)


def options_from(args: argparse.Namespace) -> ConnectOptions:
    settings = settings_from(args)
    dsn = args.dbname or (settings.profile.dsn if settings.profile else None)
    return ConnectOptions(dbname=dsn, host=args.host, port=args.port,
                          user=args.username, read_only=args.read_only or settings.read_only,
                          statement_timeout_ms=args.statement_timeout
                          or settings.statement_timeout_ms)


async def pg_cron_facts(db: Database) -> ServerFacts:
    """The server's facts, refused (DatabaseError) when pg_cron is not there to read."""
    from tui.db.client import require_pg_cron

    facts = await db.facts()
    require_pg_cron(facts)
    return facts


#: A count of 1 or more (kept for the subcommands that name it; types.whole sets a range).
positive = types.whole(1, 1_000_000)
