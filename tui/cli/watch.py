"""`cronjobs-tui watch`: alerts from one database or a fleet of them (tui/insight/watch.py)."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import stat
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from tui.cli import types
from tui.config import ConfigError
from tui.text import inert

#: --interval, --grace, --deadline and --read-timeout: seconds, more than 0, at most a day.
SECONDS = types.seconds(0, 86400, above=True)

#: Exit codes of --once (bits, documented in the README): 1 something is wrong (an episode
#: is open), 4 something could not be delivered; 5 both. 2 is a usage or start-up error.
EXIT_HELP = ("exit codes with --once: 0 all well; 1 a problem is open; 4 a change could not be "
             "delivered; 5 both; 2 bad options or state file")


def read_url_file(path: Path, option: str) -> list[str]:
    """One URL a line, `#` comments; refused when others may read it (URLs are secrets).
    The path is a readable file already (`types.readable_file`)."""
    shown = inert(str(path))  # whole: the operator copies the chmod
    if path.stat().st_mode & (stat.S_IRGRP | stat.S_IROTH):
        raise ConfigError(f"{option}: {shown} is readable by others and holds secrets: run "
                          f"'chmod 600 {shown}'")
    lines = path.read_text(encoding="utf-8").splitlines()
    urls = []
    for n, line in enumerate(lines, 1):
        # A comment is a whole line: a URL may hold '#' (a fragment).
        text = "" if line.lstrip().startswith("#") else line.strip()
        if not text:
            continue
        try:
            urls.append(types.http_url(text))
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(f"{option}: {shown} line {n}: {exc}") from None
    return urls


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    w = subparsers.add_parser(
        "watch", parents=[connection_parent], add_help=False,
        help="alert on failing, missed and stuck jobs, a stopped scheduler, an unreachable "
             "database: episodes as JSON lines, to Alertmanager and webhooks; metrics",
        epilog=EXIT_HELP)
    r = w.add_argument_group("receivers (URLs are secrets: prefer the -file forms)")
    r.add_argument("--alertmanager", action="append", type=types.http_url, metavar="URL",
                   default=[],
                   help="Prometheus Alertmanager to post alerts to (its /api/v2/alerts; "
                        "repeatable)")
    r.add_argument("--alertmanager-file", action="append", metavar="FILE", default=[],
                   type=types.readable_file,
                   help="Alertmanager URLs, one a line (# comments); chmod 600")
    r.add_argument("--webhook", action="append", type=types.http_url, metavar="URL",
                   default=[],
                   help="POST each episode change here (repeatable); Slack-compatible by "
                        "default")
    r.add_argument("--webhook-file", action="append", metavar="FILE", default=[],
                   type=types.readable_file,
                   help="webhook URLs, one a line (# comments); chmod 600")
    r.add_argument("--webhook-format", choices=("slack", "generic"), default="slack",
                   help="slack: {\"text\": ...}; generic: the change's JSON")
    w.add_argument("--fleet", action="store_true", default=argparse.SUPPRESS,
                   help="watch every profile of the config (or those given with --profile, "
                        "which may be repeated) in this one process")
    w.add_argument("--state", metavar="FILE", type=types.writable_file,
                   help="open episodes, undelivered changes and where each database's watch "
                        "reached: a restart neither repeats nor misses")
    w.add_argument("--once", action="store_true",
                   help="one pass, then exit (codes below)")
    w.add_argument("--interval", type=SECONDS, default=30.0, metavar="S",
                   help="between passes (default 30 s)")
    w.add_argument("--grace", type=SECONDS, default=120.0, metavar="S",
                   help="a scheduled time with no run this much later is missed (default "
                        "120 s)")
    w.add_argument("--repeat", type=types.duration(max_days=30),
                   default=timedelta(hours=4), metavar="DURATION",
                   help="remind of an open episode at most this often (default 4h; e.g. 30m, "
                        "1d)")
    w.add_argument("--deadline", type=SECONDS, default=20.0, metavar="S",
                   help="a pass's deliveries, all receivers together, take at most this "
                        "(default 20 s); what is left is kept for the next pass")
    w.add_argument("--read-timeout", type=SECONDS, default=60.0, metavar="S",
                   help="one database's reads in a pass take at most this (default 60 s); "
                        "past it, that database is unreachable for the pass: the others "
                        "never wait for it")
    w.add_argument("--metrics", type=types.host_port, metavar="HOST:PORT",
                   help="serve Prometheus metrics at http://HOST:PORT/metrics")
    w.add_argument("--print-rules", action="store_true",
                   help="print Prometheus alerting rules over these metrics, and exit")
    w.add_argument("--print-unit", action="store_true",
                   help="print a systemd unit for this watch, and exit")
    w.add_argument("--help", action="help", help="show this help and exit")
    w.set_defaults(handler=cmd_watch)


def _targets(args: argparse.Namespace) -> list[Any]:
    from tui.cli.options import options_from, settings_from
    from tui.db import Database
    from tui.insight.watch import Target

    profiles = args.profile or []
    if getattr(args, "fleet", False) or len(profiles) > 1:
        from tui.fleet import fleet_settings, options_for

        if args.dbname or args.host or args.port or args.username:
            raise ConfigError("--fleet and several --profile take their connections from the "
                              "config's profiles: leave out -d/-h/-p/-U")
        settings, names = fleet_settings(args.config, profiles)
        targets = []
        for name in names:
            opts, _ = options_for(settings, name)
            targets.append(Target(name, Database(opts)))
        return targets
    settings = settings_from(args)
    name = settings.profile.name if settings.profile else "default"
    return [Target(name, Database(options_from(args)))]


def _receivers(args: argparse.Namespace) -> list[Any]:
    from tui.insight.deliver import Alertmanager, Webhook

    ams = [*args.alertmanager]
    hooks = [*args.webhook]
    for path in args.alertmanager_file:
        ams += read_url_file(path, "--alertmanager-file")
    for path in args.webhook_file:
        hooks += read_url_file(path, "--webhook-file")
    out: list[Any] = [Alertmanager(u) for u in dict.fromkeys(ams)]
    out += [Webhook(u, args.webhook_format) for u in dict.fromkeys(hooks)]
    return out


def _selection(args: argparse.Namespace) -> list[str]:
    out = []
    if args.config:
        out += ["--config", args.config]
    if getattr(args, "fleet", False):
        out.append("--fleet")
    for name in args.profile or []:
        out += ["--profile", name]
    return out


async def cmd_watch(args: argparse.Namespace) -> int:
    """Passes until stopped (or one, --once); see tui/insight/watch.py."""
    from tui.insight.alert_rules import prometheus_rules, systemd_unit
    from tui.insight.watch import EXIT_UNDELIVERED, EXIT_WRONG, Options, State, Watch

    if args.print_rules:
        print(prometheus_rules(args.grace), end="")
        return 0
    if args.print_unit:
        found = shutil.which("cronjobs-tui")
        exe = [found] if found else [sys.executable, "-m", "tui"]
        host, port = args.metrics or (None, None)
        address = (f"[{host}]:{port}" if host and ":" in host else f"{host}:{port}"
                   ) if host else None
        print(systemd_unit(exe, _selection(args), address), end="")
        return 0
    receivers = _receivers(args)  # refused before anything connects or binds
    targets = _targets(args)
    state_path = args.state
    state = State.load(state_path)
    metrics: Any = None
    if args.metrics:
        from tui.insight.metrics import Metrics

        host, port = args.metrics
        metrics = Metrics()
        try:
            metrics.serve(host, port)
        except OSError as exc:
            raise ConfigError(f"--metrics {host}:{port}: cannot listen there "
                              f"({exc.strerror or exc})") from None
    opts = Options(grace_s=args.grace, repeat=args.repeat, deadline_s=args.deadline,
                   interval_s=args.interval, read_timeout_s=args.read_timeout)
    watch = Watch(targets, state, receivers, opts, metrics, state_path=state_path)
    try:
        if not args.once:
            await watch.run_forever()
        result = await watch.run_pass()
        return ((EXIT_WRONG if watch.wrong else 0)
                | (EXIT_UNDELIVERED if result.undelivered or watch.undelivered else 0))
    finally:
        await asyncio.gather(*(t.db.close() for t in targets), return_exceptions=True)
