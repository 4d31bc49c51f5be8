"""`cronjobs-tui` with no subcommand: open the app (tui/ui/), or the fleet view."""

from __future__ import annotations

import argparse

from tui.cli.options import options_from, settings_from
from tui.cli.output import OK
from tui.db import ConnectOptions


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--fleet", action="store_true",
                        help="open the fleet view: every profile of the config (or those "
                             "named with --profile) at once")


def cmd_tui(args: argparse.Namespace) -> int:
    # Imported here: the subcommands for scripts start without loading Textual.
    from tui.ui.app import CronJobsApp

    if args.fleet or len(args.profile or []) > 1:
        from tui.fleet import fleet_settings

        settings, names = fleet_settings(args.config, args.profile or [])
        CronJobsApp(ConnectOptions(read_only=True), settings, fleet=names).run()
        return OK
    CronJobsApp(options_from(args), settings_from(args)).run()
    return OK
