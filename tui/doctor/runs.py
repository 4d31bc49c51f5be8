"""Checks of the runs by tui/rules.py: stuck ones, orphaned ones, and failing jobs (fire times
no run started at: missed.py)."""

from __future__ import annotations

from tui import format as fmt
from tui import rules
from tui.db.fixes import mark_run_failed
from tui.doctor.base import (
    OK,
    PROBLEM,
    UNKNOWN,
    WARNING,
    Context,
    Finding,
    Run,
    cannot_read,
    duration,
    finished_runs,
    first_line,
    job_label,
    scope_note,
)

# -- 3. stuck and orphaned runs (tui/rules.py) ----------------------------------------------

def _orphaned(run: Run) -> bool | None:
    return rules.is_orphaned(run.status, run.job_pid, run.pid_alive, run.before_server_start)


def stuck_check(ctx: Context) -> Finding:
    name = "runs.stuck"
    if blocked := cannot_read(ctx, name):
        return blocked
    assert ctx.jobs is not None
    now = ctx.facts.now
    details, fixes = [], []
    for job in ctx.jobs:
        usual = ctx.usual.get(job["jobid"])
        for run in ctx.runs.get(job["jobid"], []):
            since = run.start_time or run.seen_after
            if not rules.is_stuck(run.status, since, now, usual, _orphaned(run)):
                continue
            assert since is not None
            age = (now - since).total_seconds()
            figures = usual.duration if usual is not None else None
            said = (f"usually {fmt.duration(figures[0])}, p95 {fmt.duration(figures[1])}"
                    if figures else "no earlier run")
            details.append(f"{job_label(job)}: run {run.runid} {run.status!r} for "
                           f"{'at least ' if run.start_time is None else ''}{duration(age)} "
                           f"({said}; stuck after {duration(rules.stuck_after_s(usual))}); "
                           f"backend pid {run.job_pid}")
            fixes.append(f"select pg_cancel_backend({int(run.job_pid or 0)});  "
                         f"-- run {run.runid}")
    if not details:
        return Finding(name, OK, f"No run has gone on longer than max("
                                 f"{duration(rules.STUCK_FLOOR_S)}, "
                                 f"{rules.STUCK_FACTOR:g}x its job's usual p95 duration) in "
                                 f"{ctx.runs_scope}{scope_note(ctx)}.")
    return Finding(name, PROBLEM,
                   f"{len(details)} run(s) have gone on far longer than their job usually takes.",
                   "\n".join(fixes), tuple(details))


def orphaned_check(ctx: Context) -> Finding:
    name = "runs.orphaned"
    if blocked := cannot_read(ctx, name):
        return blocked
    assert ctx.jobs is not None
    now = ctx.facts.now
    details, fixes, unknown = [], [], 0
    for job in ctx.jobs:
        for run in ctx.runs.get(job["jobid"], []):
            verdict = _orphaned(run)
            if verdict is None:
                unknown += 1
            if not verdict:
                continue
            since = run.start_time or run.seen_after
            age = f" for {duration((now - since).total_seconds())}" if since else ""
            why = ("its row is older than the server's start" if run.before_server_start
                   else f"its backend (pid {run.job_pid}) is gone")
            details.append(f"{job_label(job)}: run {run.runid} {run.status!r}{age}; {why}")
            fixes.append(mark_run_failed(run.runid))
    if details:
        return Finding(name, PROBLEM,
                       f"{len(details)} run(s) will never finish: pg_cron still shows them "
                       "in progress, but nobody runs them (a backend killed or crashed, or "
                       "rows left from before a restart). They show as running for ever.",
                       "mark them failed, as a role that may write cron.job_run_details:\n"
                       + "\n".join(fixes), tuple(details))
    if unknown:
        why = ("this server is a standby: its backends are not the primary's"
               if ctx.facts.in_recovery else
               f"role {ctx.facts.current_user!r} cannot see other backends")
        return Finding(name, UNKNOWN, f"Whether {unknown} unfinished run(s) still have a "
                                      f"backend is unknown: {why}.")
    return Finding(name, OK, f"Every unfinished run in {ctx.runs_scope} has its backend"
                             f"{scope_note(ctx)}.")


# -- 5. failing jobs (tui/rules.py) ---------------------------------------------------

def failing_check(ctx: Context) -> Finding:
    """A job is failing when its latest run failed (as every surface says); FAILING_STREAK
    failures in a row make it a problem, fewer a warning."""
    name = "jobs.failing"
    if blocked := cannot_read(ctx, name):
        return blocked
    assert ctx.jobs is not None
    details, fixes, worst, failing = [], [], 0, []
    for job in ctx.jobs:
        runs = ctx.runs.get(job["jobid"], [])
        if not runs or not rules.is_failing(runs[-1].status):
            continue
        streak = rules.failed_streak(r.status for r in reversed(runs))
        worst = max(worst, streak)
        more = "+" if streak == len(finished_runs(runs)) else ""
        failing.append(job)
        details.append(f"{job_label(job)}: the last {streak}{more} finished runs failed; latest: "
                       f"{first_line(runs[-1].message) or '(no message)'}")
        fixes.append(f"select cron.alter_job({job['jobid']}, active := false);  "
                     f"-- pause {job_label(job)} until its command is fixed")
    if not details:
        return Finding(name, OK, f"No job's latest run failed ({ctx.runs_scope})"
                                 f"{scope_note(ctx)}.")
    first, *others = [f"--job '#{job['jobid']}'" for job in failing]
    also = f" (then {', '.join(others)})" if others else ""
    fix = (f"fix each command (cronjobs-tui runs --status failed {first}{also} shows the "
           "errors), or pause it:\n" + "\n".join(fixes))
    again = worst >= rules.FAILING_STREAK
    return Finding(name, PROBLEM if again else WARNING,
                   f"{len(details)} job(s) failing: their latest run failed"
                   + (f" ({rules.FAILING_STREAK} or more times in a row for some)." if again
                      else "."), fix, tuple(details))
