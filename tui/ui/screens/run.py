"""Enter on a run (the stream, a job's history): the whole run, its message wrapped, never cut.

A table cell has room for the start of a message only ("canceling statement due to …",
"manual run by postgres: …"); this is where it is read whole: masked (tui/masking.py) and
inert (tui/text.py), as every piece of database text.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from tui import format as fmt
from tui.masking import mask
from tui.models import Run
from tui.text import inert, one_line
from tui.ui.widgets.footer import KeyFooter


def run_text(run: Run, *, answer: str | None = None, flag: str | None = None) -> Text:
    """The run in words: which, when, how it ended, and its message whole.

    `answer`: what an HTTP job's endpoint answered (pg_net, tui/http_jobs/outcome), `flag`:
    how far the run was from the job's usual (tui/insight/lag)."""
    out = Text()
    out.append(f"Run #{run.runid}" if run.runid > 0 else "Manual run (not recorded)",
               style="bold")
    out.append(f" of {one_line(run.job_label, 120)}\n", style="bold")
    status = run.status or "?"
    out.append("status    ", style="dim")
    out.append(one_line(status, 40), style=fmt.STATUS_STYLE.get(status, ""))
    if answer:
        out.append(f"  (the endpoint answered {one_line(answer, 80)})")
    out.append("\n")
    started = (run.start_time.strftime("%a %Y-%m-%d %H:%M:%S %Z").strip() if run.start_time
               else "not yet (queued)")
    ended = (run.end_time.strftime("%a %Y-%m-%d %H:%M:%S %Z").strip() if run.end_time
             else "not yet" if status in ("running", "starting") else "-")
    for label, value in (("started", started), ("ended", ended),
                         ("took", fmt.duration(run.duration) + (f"  {flag}" if flag else "")),
                         ("database", one_line(run.database, 120) or "-"),
                         ("as role", one_line(run.username, 120) or "-")):
        out.append(f"{label:<10}", style="dim")
        out.append(f"{value}\n")
    out.append("\nmessage\n", style="bold")
    message = inert(mask(run.return_message)).expandtabs(4)
    out.append(message if message.strip() else "(none)", style="" if message.strip() else "dim")
    return out


class RunDetailScreen(ModalScreen[None]):
    """One run, whole; Esc, Enter or q close it."""

    DEFAULT_CSS = """
    RunDetailScreen { align: center middle; }
    RunDetailScreen > VerticalScroll {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    RunDetailScreen #run-text { height: auto; }
    """
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="run.close",
                        key_display="Esc")]

    def __init__(self, run: Run, *, answer: str | None = None, flag: str | None = None):
        super().__init__()
        self.run = run
        self.answer = answer
        self.flag = flag

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(run_text(self.run, answer=self.answer, flag=self.flag),
                         id="run-text", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()  # a long message scrolls with the arrows

    def action_close(self) -> None:
        self.dismiss(None)
