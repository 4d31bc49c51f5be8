"""The line at the top: which server, which versions, which zone, and is it alive."""

from __future__ import annotations

from rich.text import Text

from tui.models import ServerFacts
from tui.text import one_line
from tui.widgets.line import Line


class ServerHeader(Line):
    DEFAULT_CSS = """
    ServerHeader { height: 1; background: $panel; padding: 0 1; }
    """

    def show(self, facts: ServerFacts | None, *, state: str, read_only: bool) -> None:
        # Most important first, so a narrow terminal cuts the least useful part.
        line = Text(no_wrap=True, overflow="ellipsis")
        if read_only:
            line.append(" READ-ONLY ", style="bold black on yellow")
            line.append(" ")
        line.append(state, style="green" if state == "connected" else "bold yellow")
        if facts is not None:
            line.append("  scheduler ")
            if facts.scheduler_alive:
                line.append("alive", style="green")
            elif facts.scheduler_alive is None:
                line.append("unknown", style="bold yellow")
            else:
                line.append("NOT RUNNING", style="bold red")
            tz = facts.scheduler_timezone
            line.append("  TZ ")
            line.append(tz or "unknown", style="" if tz else "bold yellow")
            line.append(f"  pg_cron {facts.pg_cron_version or 'absent'}")
            line.append(f"  PG {facts.server_version.split()[0]}")
            where = f"{facts.current_user}@{facts.server_addr}:{facts.server_port}/{facts.database}"
            line.append(f"  {one_line(where)}", style="bold")
        self.set_text(line)
