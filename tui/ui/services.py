"""What the screens may ask of the app: a small, typed interface, so that no screen imports
the app (the app imports the screens) and none reaches into it past these names.

`CronJobsApp` (tui/ui/app.py) provides `Operator` (its data half by `SourceReads`, from the
app's current Source), and its `job_actions` (tui/ui/job_actions.py) provide
`JobActionsService`; both by shape, as Protocols do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

if TYPE_CHECKING:
    from textual.dom import DOMNode

    from tui.audit import AuditLog
    from tui.config import Settings
    from tui.db import ConnectOptions, Database, RunStream
    from tui.db.stream import JobsTracker
    from tui.insight.lag import Usuals
    from tui.models import Job, ServerFacts
    from tui.ui.source import Source
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

    profile: str | None
    audit: AuditLog
    fleet_settings: Settings

    @property
    def job_actions(self) -> JobActionsService: ...
    @property
    def server_accuracy(self) -> ServerAccuracy: ...  # the header's figure (widgets/accuracy.py)
    @property
    def db(self) -> Database: ...
    @property
    def opts(self) -> ConnectOptions: ...
    @property
    def read_only(self) -> bool: ...
    @property
    def facts(self) -> ServerFacts | None: ...
    @property
    def jobs(self) -> list[Job]: ...
    @property
    def usual(self) -> Usuals | None: ...
    @property
    def next_runs(self) -> NextRuns: ...
    @property
    def stream(self) -> RunStream: ...
    @property
    def audit_server(self) -> str: ...

    def record(self, action: str, job: str | None, **fields: object) -> None: ...
    def refresh_data(self) -> object: ...
    def restart_stream(self) -> object: ...
    def job_by_id(self, jobid: int) -> Job | None: ...
    def open_detail(self, jobid: int) -> None: ...
    def open_profile(self, name: str) -> None: ...
    def back_to_fleet(self) -> bool: ...


class SourceReads:
    """Operator's data half, read from the app's current Source (tui/ui/source.py): what the
    last refresh read, and the audit log's record of what was done on that server."""

    source: Source
    audit: AuditLog

    @property
    def db(self) -> Database:
        return self.source.db

    @property
    def opts(self) -> ConnectOptions:
        return self.source.opts

    @property
    def stream(self) -> RunStream:
        return self.source.stream

    @property
    def jobs_tracker(self) -> JobsTracker:
        return self.source.jobs_tracker

    @property
    def next_runs(self) -> NextRuns:
        return self.source.next_runs

    @property
    def read_only(self) -> bool:
        return self.source.read_only

    @property
    def facts(self) -> ServerFacts | None:
        return self.source.facts

    @property
    def jobs(self) -> list[Job]:
        return self.source.jobs

    @property
    def usual(self) -> Usuals | None:
        return self.source.usual

    def job_by_id(self, jobid: int) -> Job | None:
        return self.source.job_by_id(jobid)

    def job_by_name(self, name: str) -> Job | None:
        return next((j for j in self.jobs if j.jobname == name), None)

    @property
    def audit_server(self) -> str:
        """This session's server as the audit log names it (the audit view filters on it)."""
        from tui.format import server_label

        facts = self.facts
        return server_label(facts) if facts else self.opts.conninfo()

    def record(self, action: str, job: str | None, **fields: object) -> None:
        facts = self.facts
        self.audit.record(action, server=self.audit_server,
                          role=facts.current_user if facts else None,
                          job=job, **fields)  # type: ignore[arg-type]


def operator_of(node: DOMNode) -> Operator:
    """The app of `node`, by the interface above (every screen runs in a CronJobsApp)."""
    return cast("Operator", node.app)
