"""`!`: the doctor's findings, each with its fix (the same checks as `cronjobs-tui doctor`)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll

from tui.db import DatabaseError
from tui.doctor import OK, PROBLEM, UNKNOWN, WARNING, Finding, run_checks, summary, worst_first
from tui.text import inert, one_line
from tui.ui.screens.report import ReportScreen

MARK = {OK: ("ok", "green"), WARNING: ("warn", "yellow"), PROBLEM: ("FAIL", "bold red"),
        UNKNOWN: ("?", "dim")}


def render(findings: list[Finding], width: int | None = None) -> Text:
    import textwrap

    def hang(text: str, indent: int, first: int) -> str:
        # The first line follows a label `first` columns wide; the others are indented.
        if width is None:
            return text
        lines = textwrap.wrap(text, width=max(width, indent + 20), break_on_hyphens=False,
                              initial_indent="x" * first, subsequent_indent=" " * indent)
        if not lines:
            return text
        lines[0] = lines[0][first:]
        return "\n".join(lines)

    out = Text(summary(findings) + "\n", style="bold")
    for finding in worst_first(findings):
        label, style = MARK.get(finding.status, ("?", ""))
        out.append(f"{label:>4} ", style=style)
        out.append(f"{finding.check}  ", style="bold")
        head = 5 + len(finding.check) + 2
        out.append(hang(inert(finding.summary), 7, head) + "\n")
        for line in finding.details[:10]:
            out.append("       " + hang(one_line(line, 200), 9, 7) + "\n", style="dim")
        if finding.fix and finding.status != OK:
            out.append("       fix: ", style="bold")
            fix = "\n".join(hang(part, 12, 12) if i == 0 else " " * 12 + hang(part, 12, 12)
                            for i, part in enumerate(inert(finding.fix).splitlines()))
            out.append(fix + "\n", style="cyan")
    return out


class DoctorScreen(ReportScreen):
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="doctor.close"),
                Binding("r", "reload", "Check again", id="doctor.recheck")]
    heading = "Doctor (r checks again, Esc closes)"
    waiting = "checking…"
    body_id = "findings"

    @work(exclusive=True, group="doctor", exit_on_error=False)
    async def action_reload(self) -> None:
        widget = self.body
        widget.update(self.waiting)
        try:
            findings = await run_checks(self.db)
        except DatabaseError as exc:
            widget.update(Text(f"The checks could not run: {inert(str(exc))}", style="bold red"))
            return
        # The findings will not fit without a scrollbar: leave it its room (2 columns).
        room = self.query_one(VerticalScroll).content_region.width - 2
        widget.update(render(findings, room if room > 30 else None))
