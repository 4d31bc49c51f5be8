"""`a`: the local audit log, newest first: this server's changes, or every server's.

The log is one file for every server this machine touched, so the view starts with the
current server's entries and says how many others it holds; `s` shows them all, with the
server in a column. Each kind of entry says what it did in its own words (ran now, paused,
edited schedule, deleted). The highlighted entry is shown whole below the table, wrapped:
its server, its detail, and each field the change touched, before and after; Enter moves
there to scroll it.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from tui.audit import AuditLog
from tui.text import inert, one_line
from tui.ui.widgets.footer import KeyFooter

#: The job fields a change is shown by, in this order.
FIELDS = ("jobname", "schedule", "command", "database", "username", "active")
#: Entries that change the job: their before and after are shown field by field. A run, a
#: cancel or a sent request records the job as it was, which is no change of it.
CHANGES = frozenset({"edit", "create", "delete", "pause", "resume"})
#: What each kind of entry did, in words (an unknown kind is shown by its own name).
WORDS = {"trigger": "ran now", "cancel": "cancelled a run", "pause": "paused",
         "resume": "resumed", "create": "created", "delete": "deleted",
         "purge": "purged run history", "http send": "sent its HTTP request",
         "apply": "applied"}
OK_OUTCOMES = ("ok", "succeeded")


def changes(entry: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for each field the entry's change touched; for a creation or a
    deletion every field, with the missing side None; nothing for an entry that changed no
    job (a run, a cancel)."""
    if entry.get("action") not in CHANGES:
        return []
    before, after = entry.get("before") or {}, entry.get("after") or {}
    if not before and not after:
        return []
    return [(name, before.get(name), after.get(name)) for name in FIELDS
            if not (before and after) or before.get(name) != after.get(name)]


def did(entry: dict[str, Any]) -> str:
    """What the entry did, in words: `edited schedule, command`, `ran now`, `deleted`."""
    action = str(entry.get("action") or "?")
    if action == "edit":
        fields = [name for name, _, _ in changes(entry)]
        return "edited " + ", ".join(fields) if fields else "edited (nothing changed)"
    return WORDS.get(action, action)


def value(name: str, raw: Any) -> str:
    """A field's value as an operator reads it: `active`/`paused`, never Python's `True`."""
    if name == "active" and isinstance(raw, bool):
        return "active" if raw else "paused"
    if isinstance(raw, bool):
        return "yes" if raw else "no"
    return inert(str(raw))


def when(entry: dict[str, Any]) -> str:
    return str(entry.get("at", ""))[:16].replace("T", " ")


def entry_text(entry: dict[str, Any]) -> Text:
    out = Text()
    out.append(f"{one_line(did(entry))} ", style="bold")
    out.append(f"{one_line(entry.get('job') or '-')}  ")
    out.append(one_line(entry.get("outcome")),
               style="green" if entry.get("outcome") in OK_OUTCOMES else "red")
    out.append(f"\nat {str(entry.get('at', ''))[:19].replace('T', ' ')} UTC by "
               f"{one_line(entry.get('os_user'))} as role {one_line(entry.get('role'))} on "
               f"{one_line(entry.get('server'))}", style="dim")
    if entry.get("detail"):
        out.append("\n" + inert(str(entry["detail"])))
    action = entry.get("action")
    for name, was, now in changes(entry):
        out.append(f"\n{name}: ", style="bold")
        if action == "delete":  # what was deleted, not a change to "-"
            out.append(value(name, was))
        elif action == "create":
            out.append(value(name, now))
        else:
            out.append("(none)" if was is None else value(name, was), style="red")
            out.append(" → ")
            out.append("(none)" if now is None else value(name, now), style="green")
    return out


class AuditScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    AuditScreen { align: center middle; }
    AuditScreen > Static { width: 100%; height: auto; background: $boost; padding: 0 1; }
    AuditScreen DataTable { height: 1fr; scrollbar-size-horizontal: 1; }
    AuditScreen #audit-entry-box { height: auto; max-height: 12; background: $surface;
                                   border-top: solid $primary; padding: 0 1; }
    """
    BINDINGS = [Binding("escape,a,q", "dismiss", "Close", id="audit.close"),
                Binding("s", "servers", "This server / all", id="audit.servers"),
                Binding("enter", "entry", "The entry whole", id="audit.entry", show=False)]

    def __init__(self, log: AuditLog, server: str | None = None):
        super().__init__()
        self.audit_log = log
        self.server = server
        self.all_servers = server is None
        self.entries: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Static("", id="audit-title", markup=False)
        yield DataTable(cursor_type="row", zebra_stripes=True)
        with VerticalScroll(id="audit-entry-box"):
            yield Static("", id="audit-entry", markup=False)
        yield KeyFooter()

    def on_mount(self) -> None:
        self._fill()
        self.query_one(DataTable).focus()

    def _fill(self) -> None:
        everything = self.audit_log.tail()
        self.entries = [e for e in everything
                        if self.all_servers or e.get("server") == self.server]
        others = len(everything) - len(self.entries)
        title = f"Audit log: {self.audit_log.path}  "
        title += ("every server" if self.all_servers
                  else f"this server ({one_line(self.server, 60)})"
                  + (f"; {others} entries of other servers: s shows them" if others else ""))
        self.query_one("#audit-title", Static).update(Text(title))
        # What an operator scans for, left to right; who and (for one server) where are in
        # the whole entry below, so the row fits the screen and the job and the outcome are
        # never cut off. The detail takes the room left, and is whole below.
        columns = [("When (UTC)", 16), ("Job", 24), ("What", 24), ("Outcome", 10)]
        if self.all_servers:
            columns.append(("Server", 24))
        used = sum(width + 2 for _, width in columns)
        room = max(self.size.width - used - 4, 12)
        table = self.query_one(DataTable)
        table.clear(columns=True)
        for label, _ in columns:
            table.add_column(label)
        table.add_column("Detail")
        for index, entry in enumerate(self.entries):
            outcome = Text(one_line(entry.get("outcome"), 10),
                           style="green" if entry.get("outcome") in OK_OUTCOMES else "red")
            cells = [Text(when(entry)), Text(one_line(entry.get("job") or "-", 24)),
                     Text(one_line(did(entry), 24), style="bold"), outcome]
            if self.all_servers:
                cells.append(Text(one_line(entry.get("server"), 24)))
            cells.append(Text(one_line(entry.get("detail"), room)))
            table.add_row(*cells, key=str(index))
        self._show(0)

    def _show(self, row: int) -> None:
        widget = self.query_one("#audit-entry", Static)
        if not self.entries:
            widget.update(Text("No change made from here on this server yet."
                               if not self.all_servers else "No change made from here yet.",
                               style="dim"))
            return
        widget.update(entry_text(self.entries[max(0, min(row, len(self.entries) - 1))]))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._show(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self._show(event.cursor_row)
        self.action_entry()

    def action_entry(self) -> None:
        """Enter: to the whole entry, to scroll it (Tab or Shift+Tab comes back)."""
        self.query_one("#audit-entry-box").focus()

    def action_servers(self) -> None:
        if self.server is None:
            return
        self.all_servers = not self.all_servers
        self._fill()
