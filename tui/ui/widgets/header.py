"""The line at the top: which server, which versions, which zone, and is it alive."""

from __future__ import annotations

from rich.text import Text

from tui.models import ServerFacts
from tui.text import one_line
from tui.ui.widgets.line import Line


class ServerHeader(Line):
    DEFAULT_CSS = """
    ServerHeader { height: 1; background: $panel; padding: 0 1; }
    """

    def show(self, facts: ServerFacts | None, *, state: str, read_only: bool,
             accuracy: Text | None = None) -> None:
        """`facts` as last read; unless `state` is "connected" they are old, and what can
        change meanwhile (is the scheduler alive?) reads as unknown. `accuracy`: the
        server's schedule accuracy (tui/ui/widgets/accuracy.py), last."""
        # Most important first, so a narrow terminal cuts the least useful part.
        line = Text(no_wrap=True, overflow="ellipsis")
        standby = facts is not None and facts.in_recovery
        if read_only:
            why = ""
            if standby:
                why = ": standby"
            elif facts is not None and facts.server_read_only:
                why = ": server's"  # the role's or database's default_transaction_read_only
            line.append(f" READ-ONLY{why} ", style="bold black on yellow")
            line.append(" ")
        if standby and facts is not None:
            primary = facts.primary_address
            line.append(f" STANDBY{' of ' + one_line(primary, 60) if primary else ''} ",
                        style="bold white on dark_red")
            line.append(" ")
        line.append(state, style="green" if state == "connected" else "bold yellow")
        if facts is not None:
            # Which server comes right after the state: at 80 columns the versions make way.
            # The address is the one the operator connected to (a pooler's, maybe); the
            # server's own follows when it differs.
            where = f"{facts.current_user}@{facts.connected_to}/{facts.database}"
            line.append(f"  {one_line(where)}", style="bold")
            if facts.server_differs:
                line.append(f" (server {one_line(facts.server_addr)}:{facts.server_port})")
            line.append("  scheduler ")
            if standby:
                line.append("on the primary", style="bold yellow")  # a standby runs no jobs
            elif state != "connected":
                line.append("unknown", style="bold yellow")
            elif facts.scheduler_alive:
                line.append("alive", style="green")
            elif facts.scheduler_alive is None:
                line.append("unknown", style="bold yellow")
            else:
                line.append("NOT RUNNING", style="bold red")
            tz = facts.scheduler_timezone
            line.append("  TZ ")
            line.append(tz or "unknown", style="" if tz else "bold yellow")
            release = facts.pg_cron_release  # the release as probed: '1.6 (>=1.6.5)'
            named = release.label if release else facts.pg_cron_version or "absent"
            line.append(f"  pg_cron {named}")
            line.append(f"  PG {facts.server_version.split()[0]}")
            if accuracy is not None:
                line.append("  ")
                line.append_text(accuracy)
        self.set_text(line)
