"""The fleet view: one row per profile, each probed on its own, Enter to open one."""

from __future__ import annotations

from datetime import timezone, tzinfo
from zoneinfo import ZoneInfo

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Static

from tui import fleet
from tui import format as fmt
from tui.fleet import Status
from tui.text import as_text, inert, one_line
from tui.ui.services import Operator, operator_of
from tui.ui.widgets.footer import KeyFooter

COLUMNS = [("profile", "Profile"), ("state", "State"), ("scheduler", "Scheduler"),
           ("failed", "Failed 24h"), ("next", "Next run"), ("drift", "Drift"),
           ("detail", "Server / problem")]


def _zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ValueError, KeyError):
        return timezone.utc


class FleetScreen(Screen):
    DEFAULT_CSS = """
    FleetScreen #fleet-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    FleetScreen DataTable { height: 1fr; }
    FleetScreen #fleet-detail { height: auto; max-height: 8; padding: 0 1;
                                border-top: solid $primary; }
    """
    BINDINGS = [
        Binding("enter", "open", "Open", id="fleet.open"),
        Binding("r", "refresh", "Refresh", id="fleet.refresh"),
        Binding("q", "quit", "Quit", id="fleet.quit"),
    ]

    def __init__(self, names: list[str]):
        super().__init__()
        self.names = names
        self.status: dict[str, Status] = {}
        self._probe_timers: dict[str, Timer] = {}

    @property
    def operator(self) -> Operator:
        return operator_of(self)

    def compose(self) -> ComposeResult:
        yield Static(f"Fleet: {len(self.names)} profile(s)  (Enter opens one, Esc there comes "
                     "back)", id="fleet-title", markup=False)
        yield DataTable(id="fleet", cursor_type="row")
        yield Static("", id="fleet-detail", markup=False)  # the highlighted server, whole
        yield KeyFooter()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        for name in self.names:
            status = Status(profile=name, read_only=self._read_only(name))
            self.status[name] = status
            table.add_row(*self._cells(status), key=name)
        table.focus()
        self.action_refresh()

    def _read_only(self, name: str) -> bool:
        return self.operator.fleet_settings.for_profile(name).read_only

    @property
    def interval(self) -> float:
        return max(self.operator.fleet_settings.refresh_interval, 5.0)

    # -- probing: one worker per profile, so each row fills as soon as its server answers
    def action_refresh(self) -> None:
        for name in self.names:
            self.probe(name)

    def probe(self, name: str) -> None:
        self.run_worker(self._probe(name), group=f"fleet:{name}", exclusive=True,
                        exit_on_error=False)

    async def _probe(self, name: str) -> None:
        if self.app.screen is self:
            status = await fleet.probe(self.operator.fleet_settings, name)
            self.status[name] = status
            self._show(status)
        # Re-armed per profile: a server that times out delays only its own row.
        old = self._probe_timers.pop(name, None)
        if old is not None:
            old.stop()
        self._probe_timers[name] = self.set_timer(self.interval, lambda: self.probe(name))

    def on_screen_resume(self) -> None:
        self.action_refresh()

    def _show(self, status: Status) -> None:
        from textual.widgets.data_table import ColumnKey

        table = self.query_one(DataTable)
        for (key, _), cell in zip(COLUMNS[:-1], self._cells(status)[:-1]):
            table.update_cell(status.profile, key, cell, update_width=True)
        # The last column takes the width the others leave, no more (it was cut at its
        # heading's width: update_cell does not widen a column unless asked); every row's
        # text is cut to it again, since any row can widen the others. Whole text: below.
        rows = {name: self._cells(known) for name, known in self.status.items()}
        # Measured here: the widths update_cell asks for are applied only at the next idle.
        # (A column never narrows: what it once held counts too.)
        others = sum(max([len(label), table.columns[ColumnKey(key)].content_width,
                          *(cells[i].cell_len for cells in rows.values())])
                     + 2 * table.cell_padding for i, (key, label) in enumerate(COLUMNS[:-1]))
        room = max(table.size.width - others - 2 * table.cell_padding - 2, 20)
        longest = 0
        for name, cells in rows.items():
            full = cells[-1]
            longest = max(longest, min(full.cell_len, room))
            # update_width: the table measures the column again at its next idle, and with
            # it the width it scrolls over.
            table.update_cell(name, "detail",
                              full if full.cell_len <= room else as_text(one_line(full.plain,
                                                                                  room)),
                              update_width=True)
        column = table.columns[ColumnKey("detail")]
        column.content_width = max(longest, len(str(column.label)))
        table.refresh()
        if self.selected() == status.profile:
            self._show_detail(status)

    def on_resize(self) -> None:
        if self.status:
            self._show(next(iter(self.status.values())))  # the problem column, cut anew

    def _show_detail(self, s: Status) -> None:
        text = Text(f"{one_line(s.profile, 60)}: ", style="bold")
        text.append(one_line(s.server or "server not reached"))
        if s.next_run is not None and s.checked_at is not None:
            text.append(f"\nnext run: {one_line(s.next_job, 60)} "
                        f"{fmt.relative(s.next_run, s.checked_at, to_the_minute=True)}, "
                        f"{s.next_run.astimezone(_zone(s.timezone)):%Y-%m-%d %H:%M} "
                        f"{s.timezone or 'UTC'}")
        for problem in (s.error, s.drift_error):
            if problem:
                text.append("\n" + inert(problem), style="red")
        self.query_one("#fleet-detail", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        name = str(event.row_key.value)
        if name in self.status:
            self._show_detail(self.status[name])

    @staticmethod
    def _cells(s: Status) -> list[Text]:
        state = {"checking": Text("checking…", style="dim"),
                 "up": Text("up", style="green"),
                 "down": Text("UNREACHABLE", style="bold red"),
                 "error": Text("error", style="red")}[s.state]
        if s.read_only:
            state.append(" ro", style="dim")
        scheduler = ("-" if s.state != "up" else
                     Text("alive", style="green") if s.scheduler_alive else
                     Text("DEAD", style="bold red") if s.scheduler_alive is False else
                     Text("unknown", style="dim"))
        failed: Text | str = "-"
        if s.failures_24h is not None:
            failed = Text(str(s.failures_24h), style="red" if s.failures_24h else "")
        upcoming: Text | str = "-"
        if s.next_run is not None and s.checked_at is not None:
            # As the jobs table says it: "in 3 h" and the day and time in the scheduler's zone.
            upcoming = Text(fmt.relative(s.next_run, s.checked_at, to_the_minute=True))
            upcoming.append(f" {fmt.short_absolute(s.next_run, s.timezone, s.checked_at)}",
                            style="dim")
            # Which job: in the detail below, so the problem column keeps its room.
        drift: Text | str = "-" if s.state != "up" else "no file"
        if s.drift_error:
            drift = Text("file error", style="red")
        elif s.drift is not None:
            drift = (Text("in sync", style="green") if s.drift == 0 else
                     Text(f"{s.drift} change(s)", style="yellow"))
        detail = one_line(s.error or s.drift_error or s.server or "")
        # DataTable reads a str cell as markup: every cell goes in as Text (tui/text.py).
        return [as_text(cell) for cell in (one_line(s.profile, 30), state, scheduler, failed,
                                           upcoming, drift, detail)]

    # -- keys ------------------------------------------------------------------------
    def selected(self) -> str | None:
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        return str(key.value) if key.value is not None else None

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        self.action_open()

    def action_open(self) -> None:
        name = self.selected()
        if name is not None:
            self.operator.open_profile(name)

    def action_quit(self) -> None:
        self.app.exit()
