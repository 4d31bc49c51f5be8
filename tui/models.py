"""Plain objects that flow from the data layer to the screens and the subcommands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FINISHED = ("succeeded", "failed")


@dataclass(frozen=True)
class PgCronRelease:
    """pg_cron's release as closely as behaviour tells (tui.db.release)."""

    line: str  # '1.4', '1.5', '1.6': from behaviour, so 1.6.0 (extversion '1.5') says '1.6'
    label: str  # for people: '1.6 (>=1.6.5)', '1.6 (<1.6.5)', '1.5'
    version: str  # for tui.cron's check/next runs: a line, or a release such as '1.6.4'
    probed: bool  # False: only extversion was known (read-only session, no privilege)
    match_dom_and_dow: bool | None = None  # that setting's value where it exists (>1.6.7)


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
    server_read_only: bool = False  # default_transaction_read_only: the role's or database's
    primary_host: str | None = None  # a standby's WAL sender, when this role may see it
    primary_port: int | None = None
    primary_conninfo: str | None = None  # holds a password, maybe: use `primary_address`
    connected_host: str | None = None  # what the operator connected to (libpq's host)
    connected_port: int | None = None
    connected_hostaddr: str | None = None  # the IP address that name reached, if any
    pg_cron_release: PgCronRelease | None = None  # probed once per connection

    @property
    def read_only_reason(self) -> str | None:
        """Why the server makes this session read-only, in a few words; None if it does not."""
        if self.in_recovery:
            return "the server is a standby (in recovery)"
        if self.server_read_only:
            return (f"default_transaction_read_only is on for {self.current_user} "
                    "on this server")
        return None

    @property
    def primary_address(self) -> str | None:
        """host:port of a standby's primary, from what the server lets this role read; never
        the password that primary_conninfo may hold."""
        if not self.in_recovery:
            return None
        host, port = self.primary_host, self.primary_port
        if not host and self.primary_conninfo:
            from psycopg.conninfo import conninfo_to_dict

            try:
                params = conninfo_to_dict(self.primary_conninfo)
            except Exception:  # noqa: BLE001  # an unreadable setting is "unknown", not a crash
                return None
            host = str(params.get("host") or params.get("hostaddr") or "") or None
            port = int(str(params["port"])) if str(params.get("port", "")).isdigit() else None
        if not host:
            return None
        return f"{host}:{port}" if port else str(host)

    @property
    def connected_to(self) -> str:
        """host:port the operator connected to (a pooler's, maybe)."""
        host = self.connected_host or self.server_addr
        port = self.connected_port or self.server_port
        return f"{host}:{port}" if port else str(host)

    @property
    def server_differs(self) -> bool:
        """True when the server's own address is not the one connected to (a pooler, a
        proxy, a name that resolved): the header then shows both."""
        if self.connected_host is None:
            return False
        if self.connected_host.startswith("/"):  # a Unix socket: the server says 'local socket'
            return self.server_addr != "local socket" or self.connected_port != self.server_port
        reached = self.connected_hostaddr or self.connected_host
        return (reached, self.connected_port) != (self.server_addr, self.server_port)

    @property
    def pg_cron_minor(self) -> str | None:
        """'1.4', '1.5' or '1.6': what the SQL API and the schedule grammar offer."""
        if self.pg_cron_version is None:
            return None
        from tui.cron import parse_version

        return parse_version(self.pg_cron_version)

    @property
    def pg_cron_grammar(self) -> str | None:
        """What to judge schedules as: the probed release ('1.6.4') or else the line, with
        '+match_dom_and_dow' when that setting is on (next runs change, not the verdict)."""
        if self.pg_cron_release is not None:
            from tui.cron import with_dom_and_dow

            release = self.pg_cron_release
            return with_dom_and_dow(release.version, release.match_dom_and_dow)
        return self.pg_cron_minor

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
    #: Without the (jobid, runid) index only the newest runs are searched for the last run:
    #: set (to how many) when none of this job's runs was among them and older runs exist,
    #: so its last run is not known. None: the search covered the whole history.
    last_run_lookback: int | None = None
    #: The last run, unfinished, is orphaned (tui.rules.is_orphaned): True or False; None when
    #: not judged (finished, or this role cannot see other backends).
    last_orphaned: bool | None = None

    @property
    def label(self) -> str:
        return self.jobname or f"#{self.jobid}"

    @property
    def last_run_known(self) -> bool:
        """False when the job's last run may lie beyond the runs searched."""
        return self.last_runid is not None or self.last_run_lookback is None


def changed_jobs(old: list[Job], new: list[Job]) -> list[Job] | None:
    """The jobs of `new` that are not the very objects of `old`, for whoever keeps something
    per job across refreshes and would rather not look at ten thousand jobs at each.

    Between full reads JobsTracker hands out the same list with changed jobs replaced in
    place, so the lists line up. None when they do not (jobs came, went or moved): look at
    all."""
    if new is old:
        return []
    if len(new) != len(old):
        return None
    pairs = [(a, b) for a, b in zip(old, new) if a is not b]
    # Replaced in place keeps its jobid; a job gone and another come in its place does not.
    if any(a.jobid != b.jobid for a, b in pairs):
        return None
    return [b for _, b in pairs]


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
    job_exists: bool = True  # False once the job is deleted (its runs stay)
    orphaned: bool | None = None  # nobody will finish it (tui.rules); None: not judged

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
        if self.jobname:
            return self.jobname
        return f"#{self.jobid}" if self.job_exists else f"deleted job #{self.jobid}"
