"""The psql-style connection options every subcommand takes, and the settings they select."""

from __future__ import annotations

import argparse
from typing import Any

from tui import config
from tui.db import ConnectOptions, Database
from tui.models import ServerFacts


def connection_parser(*, suppress: bool = False) -> argparse.ArgumentParser:
    """The connection options. Given `suppress`, an option left out sets nothing: the copy
    that each subcommand takes must not overwrite what was given before the subcommand
    (`cronjobs-tui -h db jobs`), since argparse applies a subparser's defaults last."""
    def default(value: Any) -> Any:
        return argparse.SUPPRESS if suppress else value

    parent = argparse.ArgumentParser(add_help=False)
    conn = parent.add_argument_group("connection (as psql, before or after the command; empty "
                                     "options fall back to PG* variables, pg_service.conf "
                                     "and .pgpass)")
    conn.add_argument("-d", "--dbname", default=default(None),
                      help="database name, conninfo string or URI")
    conn.add_argument("-h", "--host", default=default(None),
                      help="server host or socket directory")
    conn.add_argument("-p", "--port", default=default(None), help="server port")
    conn.add_argument("-U", "--username", default=default(None), help="role to connect as")
    conn.add_argument("--read-only", action="store_true", default=default(False),
                      help="no mutating actions, and a read-only session at the server")
    conn.add_argument("--statement-timeout", type=int, default=default(None), metavar="MS",
                      help="per-query timeout in milliseconds (default 5000, or the config's)")
    config_option(conn, suppress=suppress)
    conn.add_argument("--profile", action="append", default=default(None), metavar="NAME",
                      help="a named connection from the config's [profiles.NAME] (default: "
                           "$CRONJOBS_TUI_PROFILE); -d/-h/-p/-U override its dsn; give it "
                           "several times for the fleet view")
    return parent


def config_option(group: Any, *, suppress: bool) -> None:
    group.add_argument("--config", metavar="FILE",
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


def positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value
