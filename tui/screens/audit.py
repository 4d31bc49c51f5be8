"""`a`: the local audit log, newest first."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui.audit import AuditLog
from tui.text import one_line


class AuditScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    AuditScreen { align: center middle; }
    AuditScreen > Static { width: 100%; height: 1; background: $boost; padding: 0 1; }
    AuditScreen DataTable { height: 1fr; }
    """
    BINDINGS = [Binding("escape,a,q", "dismiss", "Close", id="audit.close")]

    def __init__(self, log: AuditLog):
        super().__init__()
        self.audit_log = log

    def compose(self) -> ComposeResult:
        yield Static(Text(f"Audit log: {self.audit_log.path}  (Esc closes)"), markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for label in ("When (UTC)", "Who", "Action", "Job", "Outcome", "Detail"):
            table.add_column(label)
        for entry in self.audit_log.tail():
            table.add_row(
                Text(str(entry.get("at", ""))[:19].replace("T", " ")),
                Text(one_line(f"{entry.get('os_user')}/{entry.get('role')}", 24)),
                Text(one_line(entry.get("action"), 10), style="bold"),
                Text(one_line(entry.get("job"), 30)),
                Text(one_line(entry.get("outcome"), 12),
                     style="green" if entry.get("outcome") in ("ok", "succeeded") else "red"),
                Text(one_line(entry.get("detail"), 80)),
            )
        table.focus()
