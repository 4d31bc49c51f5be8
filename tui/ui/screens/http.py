"""HTTP jobs on screen: the request laid out (in the detail view), pg_net's answers, and the
"Send HTTP" dialog that evaluates the call in the job's database and sends it with httpx."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Group, RenderableType
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from tui import http_jobs as http
from tui.db import DatabaseError
from tui.masking import mask
from tui.models import Job
from tui.text import inert, one_line
from tui.ui.messages import FailuresGoUp
from tui.ui.screens.confirm import ConfirmScreen
from tui.ui.services import Operator, operator_of
from tui.ui.widgets.footer import KeyFooter

STATUS_STYLE = {2: "bold green", 3: "bold yellow", 4: "bold red", 5: "bold red"}


# -- renderables -----------------------------------------------------------------------------

def request_text(view: http.RequestView, title: str = "HTTP request") -> Text:
    """Method, URL, headers (masked), params, body and timeout; every value already masked
    and inert (RequestView holds nothing else)."""
    text = Text(f"{title} ", style="bold")
    text.append(f"({one_line(view.source)})\n", style="dim")  # names a database, a role
    text.append(f"{view.method} ", style="bold cyan")
    text.append(view.url + "\n")
    for name, value in view.headers:
        text.append(f"  {name}: ", style="bold")
        text.append(value + "\n")
    for name, value in view.params:
        text.append(f"  ?{name}=", style="bold")
        text.append(value + "\n")
    if view.body is not None:
        text.append("  body: ", style="bold")
        text.append(view.body + "\n")
    text.append("  timeout: ", style="bold")
    text.append(view.timeout_text)
    return text


def result_text(result: http.HttpResult) -> Text:
    text = Text("Answer\n", style="bold")
    if result.error is not None and result.status is None:
        text.append(result.error, style="bold red")
        return text
    status = result.status or 0
    text.append(f"{result.status} {result.reason or ''}".rstrip(),
                style=STATUS_STYLE.get(status // 100, "bold"))
    text.append(f"  in {result.latency_ms:.0f} ms\n" if result.latency_ms is not None else "\n")
    if result.redirect:
        text.append(f"redirect to {result.location or '(no Location header)'}: not followed\n",
                    style="yellow")
    if result.error:
        text.append(result.error + "\n", style="red")
    for name, value in result.headers:
        text.append(f"  {name}: ", style="dim bold")
        text.append(value + "\n", style="dim")
    if result.body:
        text.append("\n" + result.body)
    if result.truncated:
        text.append(f"\n… (cut after {result.body_bytes:,} bytes)", style="dim")
    return text


def pg_net_text(state: http.PgNetState | None, error: str | None = None) -> Text:
    text = Text("pg_net: ", style="bold")
    if error is not None:
        text.append(one_line(error, 200), style="red")
    elif state is None:
        text.append("checking…", style="dim")
    elif not state.installed:
        text.append(inert(state.note), style="bold yellow")
    else:
        text.append(f"{one_line(state.version, 20) or 'a net._http_response table'}; ",
                    style="dim")
        text.append(inert(state.note), style="dim")
        for r in state.responses:
            when = r.created.strftime("%Y-%m-%d %H:%M:%S") if r.created else "?"
            text.append(f"\n  #{r.id} {when}  ")
            if r.timed_out:
                text.append("timed out", style="bold red")
            elif r.status_code is not None:
                text.append(str(r.status_code), style=STATUS_STYLE.get(r.status_code // 100, ""))
            else:
                text.append("no status", style="red")
            if r.error:
                text.append(f"  {one_line(r.error, 80)}", style="red")
            elif r.content:
                text.append(f"  {one_line(r.content, 80)}", style="dim")
    return text


# -- in the detail view ---------------------------------------------------------------------

@dataclass
class PgNetAnswers:
    """pg_net's answers for the job a detail screen shows, read once per last run of the
    job; the screen keeps one."""

    key: tuple[int, int | None] | None = None
    text: Text = field(default_factory=lambda: pg_net_text(None))


def command_panel(screen: Screen, job: Job, code: RenderableType,
                  answers: PgNetAnswers) -> RenderableType:
    """For an HTTP job, the request laid out and pg_net's answers above the SQL; for any
    other job, the SQL alone."""
    call = http.parse_call(job.command)
    if call is None:
        return code
    key = (job.jobid, job.last_runid)
    if answers.key != key:
        answers.key, answers.text = key, pg_net_text(None)
        screen.run_worker(_load_pg_net(screen, job, code, answers), group="detail-pg-net",
                          exclusive=True)
    parts: list[RenderableType] = [request_text(call.view())]
    if call.calls > 1:
        parts.append(Text(f"(the command makes {call.calls} pg_net calls; the first is "
                          "shown)", style="dim"))
    parts += [answers.text, Text("\nSQL", style="bold"), code]
    return Group(*parts)


async def _load_pg_net(screen: Screen, job: Job, code: RenderableType,
                       answers: PgNetAnswers) -> None:
    app = operator_of(screen)
    since = job.last_start - timedelta(seconds=1) if job.last_start else None
    current = app.facts.database if app.facts else None
    try:
        state = await http.job_pg_net_state(app.db, job, current_database=current, since=since)
        text = pg_net_text(state)
    except DatabaseError as exc:
        text = pg_net_text(None, f"could not check: {exc}")
    answers.key, answers.text = (job.jobid, job.last_runid), text
    if screen.is_attached:
        screen.query_one("#command-text", Static).update(command_panel(screen, job, code,
                                                                       answers))


# -- the Send HTTP dialog -------------------------------------------------------------------

def open_http(screen: Screen, job: Job) -> None:
    """The `h` action: the dialog for an HTTP job, a word otherwise."""
    if http.parse_call(job.command) is None:
        screen.notify(f"{one_line(job.label, 40)} makes no HTTP call (net.http_post or "
                      "net.http_get)", severity="warning")
        return
    screen.app.push_screen(HttpScreen(job))


class HttpScreen(FailuresGoUp, ModalScreen[None]):
    """The request as written; Send evaluates it in the job's database as the job's role,
    sends it from this machine and shows the answer."""

    DEFAULT_CSS = """
    HttpScreen { align: center middle; }
    HttpScreen > Vertical {
        width: 100; max-width: 100%; height: auto; max-height: 100%;
        border: thick $accent; background: $surface; padding: 0 1;
    }
    HttpScreen #http-body { height: auto; max-height: 30; }
    HttpScreen #http-request, HttpScreen #http-answer { height: auto; }
    HttpScreen #http-answer { margin-top: 1; }
    HttpScreen .buttons { height: auto; margin-top: 1; align-horizontal: right; }
    HttpScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", "Close", id="dialog.cancel")]

    def __init__(self, job: Job):
        super().__init__()
        self.job = job
        self.result: http.HttpResult | None = None

    @property
    def operator(self) -> Operator:
        return operator_of(self)

    def compose(self) -> ComposeResult:
        call = http.parse_call(self.job.command)
        with Vertical():
            yield Static(Text(f"Send {one_line(self.job.label, 60)}'s HTTP request now, "
                              "from this machine", style="bold"), markup=False)
            with VerticalScroll(id="http-body"):
                yield Static(request_text(call.view()) if call else "", id="http-request",
                             markup=False)
                yield Static(Text("Send evaluates the arguments in the job's database as "
                                  "its role (read-only), then sends the request with TLS "
                                  "verification on and proxies from the environment.",
                                  style="dim"), id="http-answer", markup=False)
            with Horizontal(classes="buttons"):
                yield Button("Close", id="close")
                yield Button("Send", id="send", variant="primary")
        yield KeyFooter()

    def on_mount(self) -> None:
        # A POST may change things at the other end: as every confirmation, Close first.
        self.query_one("#close", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "send":
            self.send()
        else:
            self.dismiss(None)

    def action_close(self) -> None:
        self.dismiss(None)

    def _answer(self, renderable: RenderableType) -> None:
        self.query_one("#http-answer", Static).update(renderable)

    @work(exclusive=True, group="http-send", exit_on_error=False)
    async def send(self, as_self: bool = False) -> None:
        if self.operator.read_only:
            self._answer(Text("read-only session: sending is not allowed", style="red"))
            return
        button = self.query_one("#send", Button)
        button.disabled = True
        try:
            await self._send(as_self)
        finally:
            button.disabled = False
            button.label = "Send again"

    async def _send(self, as_self: bool) -> None:
        from tui.db.actions import get_job

        app = self.operator
        self._answer(Text(f"evaluating in database {one_line(self.job.database, 40)} as "
                          f"{one_line(self.job.username, 40)}…", style="dim"))
        try:
            self.job = await get_job(app.db, self.job.jobid)  # never trust a stale screen
            call = http.parse_call(self.job.command)
            if call is None:
                self._answer(Text(f"{one_line(self.job.label, 60)} no longer makes an HTTP call",
                                  style="red"))
                return
            request = await http.evaluate(app.db, self.job, call, as_self=as_self)
        except http.NeedsConfirmation as exc:
            how = f"as {exc.role} via SET ROLE" if exc.can_set_role else f"as {exc.user}"
            question = f"{exc}.\n\nEvaluate the call {how} anyway (read-only, rolled back)?"
            self._answer(Text(inert(str(exc)), style="yellow"))
            if await self.app.push_screen_wait(ConfirmScreen(question, "Evaluate anyway",
                                                        danger=True)):
                await self._send(True)
            return
        except DatabaseError as exc:
            self._answer(Text(f"could not evaluate the call: {inert(mask(str(exc)))}",
                              style="red"))
            return
        self.query_one("#http-request", Static).update(
            request_text(request.view()))  # its source says "evaluated in database ..."
        self._answer(Text(f"sending {request.method} (timeout {request.timeout_ms} ms)…",
                          style="dim"))
        self.result = result = await http.send(request)
        self._answer(result_text(result))
        view = result.request
        app.record("http send", self.job.label, outcome="ok" if result.ok else "failed",
                   detail=f"{view.method} {view.url}: {result.summary()} ({view.source})")
        self.app.notify(f"{one_line(self.job.label, 40)}: {one_line(result.summary(), 120)}",
                        severity="information" if result.ok else "error", timeout=8)

