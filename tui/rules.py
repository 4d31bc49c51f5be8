"""The operator's questions, each answered in one place: is this run stuck, orphaned, an
outlier? is this job failing? was this time missed? what is a job's usual? which problem does
a job show?

Pure (imports only tui.models and the standard library), so the jobs table, the title counts,
`p`, the detail view, the doctor, `explain`, `watch`, metrics and `jobs --json` ask the same
functions with the same thresholds: they may look at different windows, never decide
differently. Each threshold is named once, here.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from tui.models import Job

#: Statuses of a run that has not finished (pg_cron's flow: starting -> connecting -> sending
#: -> running; the middle two only without background workers).
UNFINISHED = ("starting", "connecting", "sending", "running")
#: Statuses pg_cron's launcher leaves for ever when it restarts (it fixes only the others).
NEVER_CLEANED = ("connecting", "sending")

# -- usual: one sample, one set of statistics -------------------------------------------
#: A job's usual comes from its newest finished runs (succeeded or failed: a job that always
#: fails after 20 minutes usually takes 20 minutes), runs started by hand left out, among the
#: newest USUAL_LOOKBACK runids (a primary-key range scan), at most USUAL_PER_JOB a job.
USUAL_LOOKBACK = 10_000
USUAL_PER_JOB = 50

# -- stuck ---------------------------------------------------------------------------------
#: A run unfinished for longer than max(STUCK_FLOOR_S, STUCK_FACTOR x its job's usual p95
#: duration) is stuck; a job with no usual figure gets the floor. For a job that takes 20 ms,
#: a run going 8 minutes is stuck (8 min > 5 min); for one whose p95 is 1 h, after 5 h.
STUCK_FLOOR_S = 300.0
STUCK_FACTOR = 5.0

# -- outlier (the ▲ flag) ----------------------------------------------------------------
#: A finished run is far outside its job's usual when the job has at least OUTLIER_MIN_OTHER
#: other recent runs and the run took (or started late by) more than OUTLIER_FACTOR x their
#: p95 and more than the floor: a job that usually takes 20 ms is not flagged for 80 ms.
OUTLIER_MIN_OTHER = 5
OUTLIER_FACTOR = 3.0
DURATION_FLOOR_S = 10.0
LAG_FLOOR_S = 30.0

# -- failing -------------------------------------------------------------------------------
#: A job is failing when its latest run failed. This many failures in a row make the doctor
#: call it a problem rather than a warning.
FAILING_STREAK = 3

# -- problems, worst first ---------------------------------------------------------------
PROBLEMS = ("failing", "stuck", "orphaned", "paused")

DURATION, LAG = 0, 1


def percentile(values: Sequence[float], q: float) -> float:
    """As PostgreSQL's percentile_cont: linear between the two nearest of sorted `values`."""
    ordered = sorted(values)
    pos = q * (len(ordered) - 1)
    low = int(pos)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)


@dataclass(frozen=True)
class Usual:
    """A job's usual sample (see USUAL_*): runid -> (duration in s, start lag in s or None
    when the run has no scheduled time to be late for)."""

    runs: dict[int, tuple[float, float | None]]

    def values(self, which: int, without: int | None = None) -> list[float]:
        out: list[float] = []
        for runid, pair in self.runs.items():
            value = pair[which]
            if runid != without and value is not None:
                out.append(value)
        return out

    def median_p95(self, which: int) -> tuple[float, float] | None:
        values = self.values(which)
        if not values:
            return None
        return percentile(values, 0.5), percentile(values, 0.95)

    @property
    def count(self) -> int:
        return len(self.runs)

    @property
    def median_s(self) -> float:
        """The median duration (0.0 without a run)."""
        figures = self.duration
        return figures[0] if figures else 0.0

    @property
    def p95_s(self) -> float:
        """The p95 duration (0.0 without a run)."""
        figures = self.duration
        return figures[1] if figures else 0.0

    @property
    def duration(self) -> tuple[float, float] | None:
        """(median, p95) duration in seconds; None without a run."""
        return self.median_p95(DURATION)

    @property
    def lag(self) -> tuple[float, float] | None:
        """(median, p95) start lag in seconds; None without a run that has one."""
        return self.median_p95(LAG)


def usual_of(rows: Iterable[tuple[int, float, float | None]]) -> Usual:
    """A Usual from (runid, duration_s, lag_s) of one job's sample."""
    return Usual({runid: (duration, lag) for runid, duration, lag in rows})


def usuals_from_rows(rows: Iterable[dict[str, object]]) -> dict[int, Usual]:
    """Every job's Usual (durations only, no lags) from rows with jobid, runid, start_time and
    end_time: tui/db/insight.py's recent_finished(), the one read of the sample."""
    by_job: dict[int, dict[int, tuple[float, float | None]]] = {}
    for r in rows:
        start, end = r["start_time"], r["end_time"]
        assert isinstance(start, datetime) and isinstance(end, datetime)
        by_job.setdefault(int(r["jobid"]), {})[int(r["runid"])] = (  # type: ignore[call-overload]
            (end - start).total_seconds(), None)
    return {jobid: Usual(runs) for jobid, runs in by_job.items()}


# -- stuck ---------------------------------------------------------------------------------

def stuck_after_s(usual: Usual | None) -> float:
    """How long a run of this job may go unfinished before it counts as stuck."""
    figures = usual.duration if usual is not None else None
    return STUCK_FLOOR_S if figures is None else max(STUCK_FLOOR_S, STUCK_FACTOR * figures[1])


def is_stuck(status: str | None, since: datetime | None, now: datetime,
             usual: Usual | None, orphaned: bool | None = None) -> bool:
    """An unfinished run going on longer than stuck_after_s(usual), whose backend is not known
    to be gone (that one is orphaned, not stuck). `since`: its start_time (or, for a row not
    started yet, a lower bound of its age); None: cannot be judged."""
    if status not in UNFINISHED or since is None or orphaned:
        return False
    return (now - since).total_seconds() > stuck_after_s(usual)


# -- orphaned ------------------------------------------------------------------------------

def is_orphaned(status: str | None, job_pid: int | None, pid_alive: bool | None,
                before_server_start: bool | None = False) -> bool | None:
    """An unfinished run nobody will finish: its job_pid is no longer a backend, or (for
    'connecting'/'sending', which pg_cron's launcher never cleans) its row is older than the
    server's start. `pid_alive`: a backend with job_pid exists (None: this role cannot see
    other backends, or the server is a standby whose backends are not the primary's).
    Returns None when it cannot be told, never a guess."""
    if status not in UNFINISHED:
        return False
    if status in NEVER_CLEANED and before_server_start:
        return True
    if not job_pid:
        return False  # 'starting' or 'connecting': no backend yet, nothing to look for
    if pid_alive is None:
        return None
    return not pid_alive


# -- outlier -------------------------------------------------------------------------------

def outlier(usual: Usual | None, which: int, value: float | None,
            runid: int | None = None) -> float | None:
    """The usual (median) value of the job's other runs when `value` (a run's DURATION or
    LAG) is far outside them; None when it is not, or cannot be judged."""
    if usual is None or value is None:
        return None
    others = usual.values(which, without=runid)
    if len(others) < OUTLIER_MIN_OTHER:
        return None
    floor = DURATION_FLOOR_S if which == DURATION else LAG_FLOOR_S
    if value > OUTLIER_FACTOR * percentile(others, 0.95) and value > floor:
        return percentile(others, 0.5)
    return None


# -- failing -------------------------------------------------------------------------------

def is_failing(last_status: str | None) -> bool:
    """The job's latest run failed."""
    return last_status == "failed"


def failed_streak(statuses_newest_first: Iterable[str | None]) -> int:
    """How many of the newest runs failed in a row (unfinished runs at the top skipped: they
    have no outcome yet)."""
    streak = 0
    for status in statuses_newest_first:
        if status in UNFINISHED:
            if streak:
                break
            continue
        if status != "failed":
            break
        streak += 1
    return streak


# -- missed --------------------------------------------------------------------------------

#: explain's outcomes in which the job started at its time, or waits its turn behind its own
#: run (pg_cron runs a job once at a time).
STARTED = ("ran", "late", "failed", "running", "queued")
#: Outcomes whose evidence is missing or that pg_cron could not have run: the server or its
#: launcher down, a standby, a time before the job existed. Not missed: unknown.
NOT_JUDGED = ("scheduler_down", "standby", "not_created")


def is_missed(outcome: str, no_history: bool = False) -> bool | None:
    """A scheduled time with no run and no cause while the scheduler ran and the history was
    kept: True. Started or paused: False. Evidence unknown (history purged or not read, before
    the job existed, the server or launcher down, a standby): None."""
    if outcome in STARTED or outcome == "inactive":
        return False
    if outcome in NOT_JUDGED or no_history:
        return None
    return True


# -- the one problem a job shows -----------------------------------------------------------

def problem(job: Job, now: datetime, usual: Usual | None = None) -> str | None:
    """The job's worst problem: 'failing', 'stuck', 'orphaned' or 'paused' (PROBLEMS order),
    or None. `usual`: the job's Usual (None: the stuck floor applies). The orphaned verdict
    is the one the data layer put on the job's last run (Job.last_orphaned)."""
    if is_failing(job.last_status):
        return "failing"
    if job.last_status in UNFINISHED:
        if job.last_orphaned:
            return "orphaned"
        if is_stuck(job.last_status, job.last_start, now, usual, job.last_orphaned):
            return "stuck"
    return None if job.active else "paused"


def problem_rank(name: str | None) -> int:
    """0 for the worst problem ... len(PROBLEMS) for none: a sort key."""
    return PROBLEMS.index(name) if name in PROBLEMS else len(PROBLEMS)


def maybe_problem(job: Job) -> bool:
    """Whether the job may show a problem as time passes (for counts kept incrementally):
    stuck is a matter of time, the others of the job's row."""
    return is_failing(job.last_status) or job.last_status in UNFINISHED or not job.active
