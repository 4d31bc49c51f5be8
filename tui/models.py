"""Plain objects that flow from the data layer to the screens and the subcommands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FINISHED = ("succeeded", "failed")


@dataclass(frozen=True)
class ServerFacts:
    server_version: str
    server_version_num: int
    pg_cron_version: str | None  # pg_extension.extversion, None when not installed here
    pg_cron_available: str | None
    database: str
    current_user: str
    server_addr: str
    server_port: int | None
    is_superuser: bool
    sees_all: bool
    scheduler_alive: bool | None  # None: this role may not see other backends
    cron_database_name: str | None  # None when the role may not read it
    cron_timezone: str | None  # the setting as read; None when absent or unreadable
    can_read_settings: bool
    cron_usage: bool  # USAGE on schema cron: needed to see any job
    in_recovery: bool
    read_only: bool
    has_run_index: bool
    now: datetime

    @property
    def pg_cron_minor(self) -> str | None:
        """'1.4', '1.5' or '1.6': what the SQL API and the schedule grammar offer."""
        if self.pg_cron_version is None:
            return None
        from tui.cron import parse_version

        return parse_version(self.pg_cron_version)

    @property
    def scheduler_timezone(self) -> str | None:
        """The zone pg_cron evaluates schedules in, or None when this role cannot know it."""
        if self.pg_cron_minor == "1.4":
            return "UTC"  # 1.4 always uses gmtime()
        if self.cron_timezone:
            return self.cron_timezone
        return None


@dataclass(frozen=True)
class Job:
    jobid: int
    jobname: str | None
    schedule: str
    command: str
    database: str
    username: str
    active: bool
    last_runid: int | None = None
    last_status: str | None = None
    last_start: datetime | None = None
    last_end: datetime | None = None
    last_message: str | None = None

    @property
    def label(self) -> str:
        return self.jobname or f"#{self.jobid}"


@dataclass(frozen=True)
class Run:
    runid: int
    jobid: int
    jobname: str | None
    database: str | None
    username: str | None
    status: str | None
    return_message: str | None
    start_time: datetime | None
    end_time: datetime | None

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def duration(self) -> float | None:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def job_label(self) -> str:
        return self.jobname or f"#{self.jobid}"
