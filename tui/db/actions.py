"""What an operator does to pg_cron's jobs, in one namespace for the app and the cli:
job writes (tui.db.writes), run now (tui.db.run_plan, tui.db.run_now, as the job's role by
tui.db.as_role) and refusals as sentences (tui.db.refusal)."""

from tui.db.as_role import NeedsConfirmation
from tui.db.refusal import ADVICE, QUERY_CANCELED, refusal
from tui.db.run_now import TriggerRun, trigger
from tui.db.run_plan import (
    IN_PROGRESS_LOOKBACK,
    LOCAL_NAMES,
    CancelOutcome,
    RunInProgress,
    RunPlan,
    RunTarget,
    age_text,
    cancel_run,
    plan_run,
    runs_in_progress,
)
from tui.db.writes import (
    CHECK_PREFIX,
    COMPARED,
    INSUFFICIENT_PRIVILEGE,
    INVALID_PARAMETER,
    MAX_COMMAND,
    MAX_NAME,
    READ_ONLY_TRANSACTION,
    JobChanged,
    ReadOnly,
    check_schedule,
    check_writable,
    create_job,
    delete_job,
    edit_job,
    get_job,
    refuse_crashing_schedule,
    refuse_read_only_mode,
    set_active,
    writable_job,
)

__all__ = [
    "ADVICE", "CHECK_PREFIX", "COMPARED", "INSUFFICIENT_PRIVILEGE", "INVALID_PARAMETER",
    "IN_PROGRESS_LOOKBACK", "LOCAL_NAMES", "MAX_COMMAND", "MAX_NAME", "QUERY_CANCELED",
    "READ_ONLY_TRANSACTION", "CancelOutcome", "JobChanged", "NeedsConfirmation", "ReadOnly",
    "RunInProgress", "RunPlan", "RunTarget", "TriggerRun", "age_text", "cancel_run",
    "check_schedule", "check_writable", "create_job", "delete_job", "edit_job", "get_job",
    "plan_run", "refusal", "refuse_crashing_schedule", "refuse_read_only_mode",
    "runs_in_progress", "set_active", "trigger", "writable_job",
]
