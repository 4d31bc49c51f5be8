"""The actions on a job, from any screen: trigger, cancel a run, pause or resume, edit, create,
save, delete, copy the command.

Each runs as a worker of the app (group "actions"), asks its confirmation there, writes
through tui/db/actions.py and records what it did in the audit log. A worker returns an
`Outcome` (tui/ui/messages.py) that the app hands down to the screens; it writes into no
widget. A refusal raised here reaches the app's one refusal funnel, which shows it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from rich.text import Text

from tui.db import DatabaseError, actions
from tui.masking import mask
from tui.models import Job, Run
from tui.text import inert, one_line
from tui.ui.messages import Outcome
from tui.ui.screens.confirm import ConfirmScreen, MessageScreen, RunNowScreen, TypeNameScreen
from tui.ui.screens.form import JobForm, JobFormScreen
from tui.ui.services import Operator

if TYPE_CHECKING:
    from collections.abc import Coroutine

    from textual.notifications import SeverityLevel
    from textual.screen import Screen


class Host(Operator, Protocol):
    """What the actions need of the app beyond what screens do (CronJobsApp has it)."""

    #: Manual runs in progress from here, by a number of their own (a job may have two).
    manual: dict[int, actions.TriggerRun]

    async def push_screen_wait(self, screen: Screen[Any]) -> Any: ...
    def run_worker(self, work: Coroutine[Any, Any, Outcome | None], *, group: str,
                   exit_on_error: bool = True) -> object: ...
    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = False) -> None: ...
    def show_refusal(self, error: BaseException, title: str = "Not done") -> None: ...
    def copy_to_clipboard(self, text: str) -> None: ...
    def clear_notifications(self) -> None: ...


class JobActions:
    """The app's actions on jobs (tui/ui/services.py's JobActionsService)."""

    def __init__(self, app: Host):
        self.app = app
        self._manual_ids = 0

    def _start(self, work: Coroutine[Any, Any, Outcome | None]) -> object:
        # A failure goes to the app's on_worker_state_changed, and from there to its one
        # refusal funnel (tui/ui/messages.py).
        return self.app.run_worker(work, group="actions", exit_on_error=False)

    def trigger(self, job: Job) -> object:
        return self._start(self._trigger(job))

    def cancel_run(self, jobid: int) -> object:
        return self._start(self._cancel_run(jobid))

    def pause_or_resume(self, jobid: int) -> object:
        return self._start(self._pause_or_resume(jobid))

    def edit(self, jobid: int) -> object:
        return self._start(self._edit(jobid))

    def new(self) -> object:
        return self._start(self._new())

    def save(self, form_screen: JobFormScreen, form: JobForm) -> object:
        return self._start(self._save(form_screen, form))

    def delete(self, jobid: int) -> object:
        return self._start(self._delete(jobid))

    def copy_command(self, job: Job) -> None:
        # OSC 52: reaches the operator's own clipboard, even over SSH. Inert: pasted into a
        # shell, an ESC in the command could end bracketed paste and run what follows.
        self.app.copy_to_clipboard(inert(mask(job.command)))
        self.app.notify(f"Copied {one_line(job.label, 60)}'s command (secrets masked)")

    # -- the workers ------------------------------------------------------------------------
    async def _trigger(self, job: Job) -> Outcome | None:
        """Run a job now, after a confirmation built from the job as it is on the server
        (never the row on screen): its runs in progress, where it runs, the time limit."""
        app = self.app
        try:
            plan = await actions.plan_run(app.db, job.jobid)
        except DatabaseError as exc:
            app.record("trigger", job.label, before=job, outcome="refused", detail=str(exc))
            raise
        here = [r for r in app.manual.values() if r.job.jobid == job.jobid]
        choice = await app.push_screen_wait(RunNowScreen(plan, here=len(here)))
        if choice is None:
            return None
        return await self._run_now(plan, choice.timeout_ms)

    async def _run_now(self, plan: actions.RunPlan, timeout_ms: int | None,
                       as_self: bool = False) -> Outcome | None:
        app = self.app
        job = plan.job
        # Its row shows as soon as it is recorded: a refresh then, and another as it ends.
        run = actions.TriggerRun(app.db, job, as_self=as_self, timeout_ms=timeout_ms,
                                 target=plan.target, on_started=app.refresh_data)
        self._manual_ids += 1
        key = self._manual_ids
        app.manual[key] = run
        label = one_line(job.label, 60)
        # Short-lived, and gone when the run ends (below): it must not say "running" after.
        app.notify(f"Running {label} now (x cancels)…", timeout=4)
        try:
            await run.run()
        except actions.NeedsConfirmation as exc:
            app.manual.pop(key, None)
            how = f"as {exc.role} via SET ROLE" if exc.can_set_role else f"as {exc.user}"
            question = f"{exc}.\n\nRun {job.label} anyway, {how}?"
            if await app.push_screen_wait(ConfirmScreen(question, "Run anyway", danger=True)):
                return await self._run_now(plan, timeout_ms, as_self=True)
            return None
        except DatabaseError as exc:
            app.record("trigger", job.label, before=job, outcome="error", detail=str(exc))
            raise
        finally:
            app.manual.pop(key, None)  # done, or never started
            app.clear_notifications()  # "Running … now" is no longer true
        limit = (f"{timeout_ms / 1000:g} s" if timeout_ms
                 else "none beyond the server's own statement_timeout")
        app.record("trigger", job.label, before=job, outcome=run.status,
                   detail=f"{'recorded' if run.recorded else 'not recorded'}, as {run.role}, "
                          f"on {plan.target.where}, time limit: {limit}; {run.message}")
        ok = run.status == "succeeded"
        where = "" if run.recorded else " (not recorded: this role may not write run history)"
        app.notify(f"{label}: {run.status}{where}\n{one_line(mask(run.message), 200)}",
                   severity="information" if ok else "error", timeout=8)
        if run.recorded:
            return Outcome()
        self._manual_ids += 1
        return Outcome(unrecorded=Run(
            runid=-self._manual_ids, jobid=job.jobid,
            jobname=f"{job.label} (manual, not recorded)", database=job.database,
            username=run.role, status=run.status, return_message=run.message,
            start_time=run.start_time, end_time=run.end_time))

    async def _cancel_run(self, jobid: int) -> Outcome | None:
        """`x`: stop the job's run in progress: ours from here at once, pg_cron's own (or
        another session's) after a confirmation naming the run and its age."""
        app = self.app
        ours = [r for r in app.manual.values() if r.job.jobid == jobid]
        if ours:
            await ours[-1].cancel()  # the newest of ours; x again for an older one
            return None
        job = app.job_by_id(jobid)
        label = job.label if job else f"#{jobid}"
        going = [r for r in await actions.runs_in_progress(app.db, jobid) if r.alive]
        if not going:
            app.notify(f"No run of {one_line(label, 60)} is in progress", severity="warning")
            return None
        target = going[0]
        question = (f"Cancel {target.describe()} of {label}?\nIts statement is cancelled on "
                    "the server (pg_cancel_backend) and pg_cron records the run as failed.")
        if not await app.push_screen_wait(ConfirmScreen(question, "Stop the run", danger=True,
                                                        cancel="Keep it running")):
            return None
        try:
            outcome = await actions.cancel_run(app.db, target)
        except DatabaseError as exc:
            app.record("cancel", label, before=job, outcome="error", detail=str(exc))
            raise
        app.record("cancel", label, before=job,
                   outcome="ok" if outcome.cancelled else "not done", detail=outcome.message)
        app.notify(outcome.message, severity="information" if outcome.cancelled else "warning")
        return Outcome()

    async def _pause_or_resume(self, jobid: int) -> Outcome | None:
        app = self.app
        # Refused before asking, not after; the job fresh: never trust what a cell shows.
        job, _ = await actions.writable_job(app.db, jobid)
        verb = "Resume" if not job.active else "Pause"
        what = ("pg_cron will start it again on schedule." if not job.active else
                "pg_cron will not start it until it is resumed; a run in progress is "
                "canceled.")
        question = f"{verb} {job.label} ({job.schedule})?\n{what}"
        if not await app.push_screen_wait(ConfirmScreen(question, verb)):
            return None
        try:
            fresh = await actions.set_active(app.db, jobid, not job.active)
        except DatabaseError as exc:
            app.record(verb.lower(), job.label, before=job, outcome="error", detail=str(exc))
            raise
        app.record(verb.lower(), job.label, before=job, after=fresh)
        app.notify(f"{one_line(fresh.label, 60)} is now "
                   f"{'active' if fresh.active else 'paused'}")
        return Outcome()

    async def _edit(self, jobid: int) -> Outcome | None:
        app = self.app
        if app.facts is None:
            return None
        job, _ = await actions.writable_job(app.db, jobid)  # refused before the form
        return await app.push_screen_wait(JobFormScreen(app.facts, job)) or None

    async def _new(self) -> Outcome | None:
        app = self.app
        if app.facts is None:
            return None
        await actions.check_writable(app.db)
        return await app.push_screen_wait(JobFormScreen(app.facts)) or None

    async def _save(self, form_screen: JobFormScreen, form: JobForm) -> None:
        """Write the form; the form closes only when the server has accepted it, with the
        Outcome that the edit or new action returns."""
        app = self.app
        loaded = form_screen.job
        try:
            if loaded is None:
                jobid = await actions.create_job(
                    app.db, name=form.name or "", schedule=form.schedule,
                    command=form.command, database=form.database or None,
                    username=form.username or None)
                try:
                    created: Job | None = await actions.get_job(app.db, jobid)
                except DatabaseError:
                    created = None  # it was created: the read back is what failed
                app.record("create", form.name, after=created,
                           detail=None if created else f"created as job #{jobid}")
                app.notify(f"Created {one_line(form.name or '', 60)} (job #{jobid})")
                form_screen.dismiss(Outcome(created=jobid))
                return
            else:
                changes = {k: v for k, v in (("schedule", form.schedule),
                                             ("command", form.command),
                                             ("database", form.database),
                                             ("username", form.username))
                           if v != getattr(loaded, k)}
                if not changes:
                    form_screen.dismiss(None)
                    return
                saved = await actions.edit_job(app.db, loaded, **changes)
                app.record("edit", loaded.label, before=loaded, after=saved)
                app.notify(f"Saved {loaded.label}: {', '.join(changes)}")
        except actions.JobChanged as exc:
            app.record("edit", loaded.label if loaded else form.name, before=loaded,
                       outcome="conflict", detail=str(exc))
            body = Text("Someone changed this job after you opened it; nothing was written.\n")
            for field, was, now in exc.changes:
                body.append(f"\n{field}: ", style="bold")
                body.append(one_line(mask(str(was)), 60), style="red")
                body.append(" → ")
                body.append(one_line(mask(str(now)), 60), style="green")
            body.append("\n\nYour edit is kept in the form; Cancel and reopen to start "
                        "from the current version.")
            form_screen.show_error("The job changed on the server; nothing was written.")
            await app.push_screen_wait(MessageScreen("The job changed", body))
            return
        except DatabaseError as exc:
            app.record("edit" if loaded else "create", loaded.label if loaded else form.name,
                       before=loaded, outcome="error", detail=str(exc))
            form_screen.show_error(f"Not saved: {mask(actions.refusal(exc))}")
            app.show_refusal(exc, title="Not saved")
            return
        form_screen.dismiss(Outcome())

    async def _delete(self, jobid: int) -> Outcome | None:
        app = self.app
        job, _ = await actions.writable_job(app.db, jobid)  # refused before the name is typed
        name = job.jobname or str(job.jobid)
        question = (f"Delete {job.label} ({job.schedule})? pg_cron forgets the job; its run "
                    f"history stays in cron.job_run_details.\nType {name} to confirm.")
        if not await app.push_screen_wait(TypeNameScreen(question, name)):
            return None
        try:
            await actions.delete_job(app.db, jobid)
        except DatabaseError as exc:
            app.record("delete", job.label, before=job, outcome="error", detail=str(exc))
            raise
        app.record("delete", job.label, before=job)
        app.notify(f"Deleted {job.label}")
        return Outcome(deleted=jobid)
