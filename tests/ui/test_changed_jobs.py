"""A refresh looks at the jobs that changed, not at all of them (tui.models.changed_jobs): the
jobs table, the title's problem counts and the next runs, kept through a long run of refreshes
shaped as JobsTracker hands them out, always show what the same pieces made afresh show."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from textual.app import App, ComposeResult

from tests.test_schedules import NOW, facts
from tui.models import Job, changed_jobs
from tui.ui.widgets.jobs import CLOCKED, JobsTable, ProblemCounts, problems_summary
from tui.upcoming import NextRuns

# Names, schedules and commands of the shapes operators keep.
NAMES = ["nightly-vacuum", "refresh_mv_sales_daily", "[prod] purge run details", "ping",
         "pg_partman maintenance (run_maintenance_proc)", "rollup:usage:hourly", None]
SCHEDULES = ["*/5 * * * *", "0 3 * * SUN", "5 0 * * *", "30 seconds", "@reboot",
             "0 0 31 2 *", "15 9-17 * * 1-5"]
COMMANDS = ["vacuum analyze public.orders", "call public.refresh_report(42)",
            "select net.http_post(url := 'https://example.com/hook')", "select 1"]
STATUSES = ["succeeded", "failed", "running", "starting", None]


def a_job(rng: random.Random, jobid: int) -> Job:
    return Job(jobid=jobid, jobname=rng.choice(NAMES), schedule=rng.choice(SCHEDULES),
               command=rng.choice(COMMANDS), database="postgres",
               username=rng.choice(["postgres", "reporting"]), active=rng.random() > 0.1)


def ran(rng: random.Random, job: Job) -> Job:
    start = NOW - timedelta(minutes=rng.randint(0, 40))
    status = rng.choice(STATUSES[:-1])
    return replace(job, last_runid=(job.last_runid or 0) + 1, last_status=status,
                   last_start=start, last_message="ERROR:  boom" if status == "failed" else "",
                   last_end=start + timedelta(seconds=3) if status in ("succeeded", "failed")
                   else None)


def refreshes(seed: int, count: int) -> list[list[Job]]:
    """What JobsTracker hands out: mostly the same list with a few jobs replaced in place
    (they ran, one was paused or renamed); now and then a full read where jobs came and went;
    sometimes the very same list (nothing changed)."""
    rng = random.Random(seed)
    jobs = [a_job(rng, i) for i in range(1, 61)]
    out = [jobs]
    for _ in range(count):
        roll = rng.random()
        if roll < 0.1:
            pass  # nothing changed: the same list
        elif roll < 0.85:
            jobs = list(jobs)
            for i in rng.sample(range(len(jobs)), k=rng.randint(1, 4)):
                jobs[i] = ran(rng, jobs[i]) if rng.random() < 0.8 else replace(
                    jobs[i], active=not jobs[i].active, jobname=rng.choice(NAMES))
        else:
            kept = [j for j in jobs if rng.random() > 0.05]
            newest = max(j.jobid for j in jobs)
            jobs = kept + [a_job(rng, newest + k) for k in range(1, rng.randint(1, 3))]
        out.append(jobs)
    return out


def test_changed_jobs_are_the_replaced_ones_or_none() -> None:
    rng = random.Random(7)
    jobs = [a_job(rng, i) for i in range(1, 6)]
    assert changed_jobs(jobs, jobs) == []
    later = list(jobs)
    later[2] = ran(rng, jobs[2])
    assert changed_jobs(jobs, later) == [later[2]]
    assert changed_jobs(jobs, list(jobs)) == []  # a new list of the same jobs
    assert changed_jobs(jobs, jobs[:-1]) is None  # one went
    swapped = [*jobs[:-1], a_job(rng, 99)]  # one went and another came in its place
    assert changed_jobs(jobs, swapped) is None


def test_problem_counts_kept_match_counts_made_afresh() -> None:
    counts = ProblemCounts()
    for step, jobs in enumerate(refreshes(seed=3, count=300)):
        now = NOW + timedelta(minutes=step % 20)  # stuck is a matter of time
        assert counts.summary(jobs, now) == problems_summary(jobs, now), step


def test_next_runs_kept_match_next_runs_made_afresh() -> None:
    kept = NextRuns()
    for step, jobs in enumerate(refreshes(seed=5, count=300)):
        server = facts(NOW + timedelta(seconds=41 * step))
        kept.update(jobs, server)
        kept.fill(7)  # a few between key presses
        if step % 25 == 24:  # left alone long enough, fill() has made every answer
            assert not kept.fill(10**6) and kept._from.keys() == {j.jobid for j in jobs}
        assert dict(kept) == dict(NextRuns().update(jobs, server)), step


def widths(table: JobsTable) -> list[int]:
    """The columns' widths over every row held (shown or filtered out), but those that age
    with the clock (kept as wide as their widest text of the last while, which a table made
    afresh never saw)."""
    for key in list(table.cells):
        table.row_cells(key)
    return [c.width for c in table.columns if c.key not in CLOCKED]


ON_SCREEN = 8  # the rows both tables show (they share the screen)


class Tables(App):
    def compose(self) -> ComposeResult:
        yield JobsTable(id="kept")


def rows(table: JobsTable) -> list[tuple[str, list[str]]]:
    """Every row shown, as the operator would read it: all of it for the first rows (on
    screen), and the columns that do not age with the clock for the others (a row off screen
    is brought up to the minute when it scrolls into view)."""
    clocked = {table.column_index(key) for key in CLOCKED if key in {c.key for c in table.columns}}
    return [(key, [str(text) for i, text in enumerate(table.get_row(key))
                   if n < ON_SCREEN or i not in clocked]) for n, key in enumerate(table.keys)]


async def test_the_jobs_table_kept_matches_a_table_made_afresh() -> None:
    """Sorts, a filter and notes beside names (the jobs file's marks) along the way."""
    app = Tables()
    sorts = ["id", "problems", "name", "next", "last", "state"]
    async with app.run_test(size=(160, 30)) as pilot:
        kept, kept_runs = app.query_one("#kept", JobsTable), NextRuns()
        for step, jobs in enumerate(refreshes(seed=9, count=120)):
            server = facts(NOW + timedelta(seconds=30 * (step // 10)))
            marks = {j.jobid: "≠ file: schedule" for j in jobs if j.jobid % 7 == step % 7}
            sort, needle = sorts[step // 20 % len(sorts)], "roll" if step % 30 > 24 else ""
            fresh = JobsTable(id=f"fresh{step}")
            await app.mount(fresh)
            for table, upcoming in ((kept, kept_runs), (fresh, NextRuns())):
                table.sort, table.filter_text = sort, needle
                table.set_marks(marks)
                table.show(jobs, upcoming.update(jobs, server), server)
                table.action_first()  # the cursor follows its job: back to the top (Home)
            await pilot.pause()
            assert rows(kept) == rows(fresh), (step, sort, needle)
            assert widths(kept) == widths(fresh), step
            await fresh.remove()
