"""`cronjobs-tui demo`: the embedded demo cluster (tui/lab/demo.py), and the TUI on it."""

from __future__ import annotations

import argparse
from typing import Any

from tui import config
from tui.cli.options import config_option


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    # The demo starts its own cluster: it takes no connection options, only the config.
    demo = subparsers.add_parser("demo", add_help=False,
                                 help="start the embedded demo cluster and open the TUI on it")
    config_option(demo, suppress=True)
    demo.add_argument("--print-dsn", action="store_true",
                      help="start it, print its connection URI and leave it running")
    demo.add_argument("--stop", action="store_true", help="stop a demo cluster left running")
    demo.add_argument("--help", action="help")
    demo.set_defaults(handler=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from tui.lab import demo

    given = [flag for flag, value in (("-d", args.dbname), ("-h", args.host), ("-p", args.port),
                                      ("-U", args.username), ("--profile", args.profile))
             if value]
    if given:
        raise config.ConfigError(f"demo starts its own cluster and takes no {', '.join(given)}: "
                                 "run 'cronjobs-tui demo --print-dsn' to connect to it")
    if args.stop:
        return demo.stop()
    if args.print_dsn:
        print(demo.start().uri())
        return 0
    return demo.run_tui(config.load(args.config))
