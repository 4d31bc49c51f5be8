"""`!`: the doctor's findings, each with its fix (the same checks as `cronjobs-tui doctor`)."""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.db import Database, DatabaseError
from tui.doctor import OK, PROBLEM, UNKNOWN, WARNING, Finding, run_checks
from tui.text import inert, one_line

MARK = {OK: ("ok", "green"), WARNING: ("warn", "yellow"), PROBLEM: ("FAIL", "bold red"),
        UNKNOWN: ("?", "dim")}


def render(findings: list[Finding]) -> Text:
    out = Text()
    for finding in findings:
        label, style = MARK.get(finding.status, ("?", ""))
        out.append(f"{label:>4} ", style=style)
        out.append(f"{finding.check}  ", style="bold")
        out.append(inert(finding.summary) + "\n")
        for line in finding.details[:10]:
            out.append(f"       {one_line(line, 200)}\n", style="dim")
        if finding.fix and finding.status != OK:
            out.append("       fix: ", style="bold")
            out.append(inert(finding.fix) + "\n", style="cyan")
    return out


class DoctorScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    DoctorScreen { align: center middle; }
    DoctorScreen > VerticalScroll {
        width: 110; max-width: 100%; height: 90%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q", "dismiss", "Close", id="doctor.close"),
                Binding("r", "recheck", "Check again", id="doctor.recheck")]

    def __init__(self, db: Database):
        super().__init__()
        self.db = db

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text("Doctor (r checks again, Esc closes)", style="bold"))
            yield Static("checking…", id="findings", markup=False)

    def on_mount(self) -> None:
        self.action_recheck()

    @work(exclusive=True, group="doctor")
    async def action_recheck(self) -> None:
        widget = self.query_one("#findings", Static)
        widget.update("checking…")
        try:
            findings = await run_checks(self.db)
        except DatabaseError as exc:
            widget.update(Text(f"The checks could not run: {exc}", style="bold red"))
            return
        widget.update(render(findings))
