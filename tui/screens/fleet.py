"""The fleet view: one row per profile, each probed on its own, Enter to open one."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from tui import fleet
from tui.fleet import Status
from tui.text import one_line

if TYPE_CHECKING:
    from tui.app import CronJobsApp

COLUMNS = [("profile", "Profile"), ("state", "State"), ("scheduler", "Scheduler"),
           ("failed", "Failed 24h"), ("next", "Next run"), ("drift", "Drift"),
           ("detail", "Server / problem")]


class FleetScreen(Screen):
    DEFAULT_CSS = """
    FleetScreen #fleet-title { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    FleetScreen DataTable { height: 1fr; }
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
    def operator(self) -> CronJobsApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(f"Fleet: {len(self.names)} profile(s)  (Enter opens one, Esc there comes "
                     "back)", id="fleet-title", markup=False)
        yield DataTable(id="fleet", cursor_type="row")
        yield Footer()

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
        table = self.query_one(DataTable)
        for (key, _), cell in zip(COLUMNS, self._cells(status)):
            table.update_cell(status.profile, key, cell)

    @staticmethod
    def _cells(s: Status) -> list[Text | str]:
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
        upcoming = "-"
        if s.next_run is not None:
            upcoming = f"{s.next_run:%Y-%m-%d %H:%M} {one_line(s.next_job, 24)}"
        drift: Text | str = "-" if s.state != "up" else "no file"
        if s.drift_error:
            drift = Text("file error", style="red")
        elif s.drift is not None:
            drift = (Text("in sync", style="green") if s.drift == 0 else
                     Text(f"{s.drift} change(s)", style="yellow"))
        detail = one_line(s.error or s.drift_error or s.server or "", 60)
        return [s.profile, state, scheduler, failed, upcoming, drift, detail]

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
