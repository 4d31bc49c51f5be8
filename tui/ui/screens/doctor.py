"""`!`: the doctor's findings, each with its fix (the same checks as `cronjobs-tui doctor`)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import VerticalScroll

from tui.db import DatabaseError
from tui.doctor import (
    MARKERS,
    OK,
    PROBLEM,
    UNKNOWN,
    WARNING,
    Finding,
    run_checks,
    summary,
    worst_first,
)
from tui.text import inert, one_line
from tui.ui.screens.report import ReportScreen

#: The command line's words (tui/doctor/report.py), coloured.
STYLE = {OK: "green", WARNING: "yellow", PROBLEM: "bold red", UNKNOWN: "dim"}
LABEL_WIDTH = max(len(word) for word in MARKERS.values())
INDENT = LABEL_WIDTH + 1


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
        label = MARKERS.get(finding.status, "?")
        out.append(f"{label:<{LABEL_WIDTH}} ", style=STYLE.get(finding.status, ""))
        out.append(f"{finding.check}  ", style="bold")
        head = INDENT + len(finding.check) + 2
        out.append(hang(inert(finding.summary), INDENT + 2, head) + "\n")
        pad = " " * (INDENT + 2)
        for line in finding.details[:10]:
            out.append(pad + hang(one_line(line, 200), INDENT + 4, INDENT + 2) + "\n",
                       style="dim")
        if finding.fix and finding.status != OK:
            out.append(pad + "fix: ", style="bold")
            deep = INDENT + 7
            fix = "\n".join(hang(part, deep, deep) if i == 0 else " " * deep + hang(part, deep,
                                                                                   deep)
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
