"""What the screens may ask of the app: a small, typed interface, so that no screen imports
the app (the app imports the screens) and none reaches into it past these names.

`CronJobsApp` (tui/ui/app.py) provides `Operator`, and its `job_actions`
(tui/ui/job_actions.py) provide `JobActionsService`; both by shape, as Protocols do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from tui.audit import AuditLog
    from tui.config import Settings
    from tui.db import ConnectOptions, Database, RunStream
    from tui.insight.lag import Usuals
    from tui.models import Job, ServerFacts
    from tui.ui.widgets.accuracy import ServerAccuracy
    from tui.upcoming import NextRuns


class JobActionsService(Protocol):
    """The actions on a job, each a worker of the app that confirms what it changes."""

    def trigger(self, job: Job) -> object: ...
    def cancel_run(self, jobid: int) -> object: ...
    def pause_or_resume(self, jobid: int) -> object: ...
    def edit(self, jobid: int) -> object: ...
    def new(self) -> object: ...
    # The form's screen and its values (tui/ui/screens/form.py, which imports this module).
    def save(self, form_screen: Any, form: Any) -> object: ...
    def delete(self, jobid: int) -> object: ...
    def copy_command(self, job: Job) -> None: ...


class Operator(Protocol):
    """The app as its screens see it: the session, what the last refresh read, and the few
    things a screen asks the app to do."""

    db: Database
    opts: ConnectOptions
    read_only: bool
    facts: ServerFacts | None
    jobs: list[Job]
    usual: Usuals | None
    next_runs: NextRuns
    stream: RunStream
    profile: str | None
    audit: AuditLog
    fleet_settings: Settings
    job_actions: JobActionsService
    server_accuracy: ServerAccuracy  # the header's figure (tui/ui/widgets/accuracy.py)

    @property
    def audit_server(self) -> str: ...

    def record(self, action: str, job: str | None, **fields: object) -> None: ...
    def refresh_data(self) -> object: ...
    def restart_stream(self) -> object: ...
    def job_by_id(self, jobid: int) -> Job | None: ...
    def open_detail(self, jobid: int) -> None: ...
    def open_profile(self, name: str) -> None: ...
    def back_to_fleet(self) -> bool: ...


def operator_of(node: DOMNode) -> Operator:
    """The app of `node`, by the interface above (every screen runs in a CronJobsApp)."""
    return cast("Operator", node.app)
