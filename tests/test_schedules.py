"""NextRuns: every job's next run kept across refreshes, recomputed when it has to be."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

from tui.models import Job, ServerFacts
from tui.upcoming import NextRuns

UTC = timezone.utc
NOW = datetime(2026, 11, 28, 12, 0, 30, tzinfo=UTC)


def facts(now: datetime = NOW, tz: str | None = "UTC", version: str = "1.6.5") -> ServerFacts:
    return ServerFacts(
        server_version="17.6", server_version_num=170006, pg_cron_version=version,
        pg_cron_available=version, database="postgres", current_user="postgres",
        server_addr="127.0.0.1", server_port=5432, is_superuser=True, sees_all=True,
        scheduler_alive=True, cron_database_name="postgres", cron_timezone=tz,
        can_read_settings=True, cron_usage=True, in_recovery=False, read_only=False,
        has_run_index=True, now=now)


def job(jobid: int, schedule: str, active: bool = True) -> Job:
    return Job(jobid=jobid, jobname=f"job-{jobid}", schedule=schedule, command="select 1",
               database="postgres", username="postgres", active=active)


def test_first_update_computes_every_job() -> None:
    runs = NextRuns()
    at = runs.update([job(1, "*/5 * * * *"), job(2, "0 3 * * SUN"), job(3, "@reboot"),
                      job(4, "* * * * *", active=False)], facts())
    assert at == {1: datetime(2026, 11, 28, 12, 5, tzinfo=UTC),
                  2: datetime(2026, 11, 29, 3, tzinfo=UTC), 3: None, 4: None}
    assert runs.version == 1


def test_nothing_moves_until_a_next_run_passes() -> None:
    runs, jobs = NextRuns(), [job(1, "*/5 * * * *"), job(2, "0 * * * *")]
    dict(runs.update(jobs, facts()))  # read, as the table reads the rows it draws
    runs.update(jobs, facts(NOW + timedelta(minutes=4)))
    assert runs.version == 1
    at = runs.update(jobs, facts(NOW + timedelta(minutes=5)))
    assert at[1] == datetime(2026, 11, 28, 12, 10, tzinfo=UTC)
    assert at[2] == datetime(2026, 11, 28, 13, tzinfo=UTC)
    assert runs.version == 2


def test_a_changed_job_is_recomputed_and_a_gone_one_forgotten() -> None:
    runs = NextRuns()
    first = [job(1, "*/5 * * * *"), job(2, "0 * * * *")]
    runs.update(first, facts())
    at = runs.update([replace(first[0], schedule="0 0 * * *")], facts())
    assert at == {1: datetime(2026, 11, 29, 0, 0, tzinfo=UTC)}
    paused = runs.update([replace(first[0], active=False)], facts())
    assert paused == {1: None}
    assert runs.version == 3


def test_seconds_jobs_count_from_their_last_start() -> None:
    runs = NextRuns()
    ran = replace(job(1, "30 seconds"), last_start=NOW - timedelta(seconds=10))
    assert runs.update([ran], facts())[1] == NOW + timedelta(seconds=20)
    again = replace(ran, last_start=NOW + timedelta(seconds=20))
    assert runs.update([again], facts(NOW + timedelta(seconds=21)))[1] == \
        NOW + timedelta(seconds=50)


def test_the_scheduler_zone_changes_every_answer() -> None:
    runs, jobs = NextRuns(), [job(1, "0 3 * * *")]
    assert runs.update(jobs, facts())[1] == datetime(2026, 11, 29, 3, tzinfo=UTC)
    berlin = runs.update(jobs, facts(tz="Europe/Berlin"))[1]
    assert berlin == datetime(2026, 11, 29, 2, tzinfo=UTC)
    assert runs.update(jobs, facts(tz=None))[1] is None  # unreadable zone: never guessed


def test_a_zone_change_keeps_every_job_coming_due() -> None:
    """Minutes fall at the same instants in both zones: after the change the job must still
    come due and move on."""
    runs, jobs = NextRuns(), [job(1, "* * * * *")]
    runs.update(jobs, facts())
    assert runs.update(jobs, facts(tz="Europe/Berlin"))[1] == datetime(2026, 11, 28, 12, 1,
                                                                         tzinfo=UTC)
    later = runs.update(jobs, facts(NOW + timedelta(minutes=3), tz="Europe/Berlin"))
    assert later[1] == datetime(2026, 11, 28, 12, 4, tzinfo=UTC)


def test_a_thousand_refreshes_look_only_at_what_came_due() -> None:
    """The same list at every refresh: only jobs whose next run passed are recomputed, and the
    answers match a fresh computation at every step."""
    jobs = [job(i, s) for i, s in enumerate(["* * * * *", "*/7 * * * *", "0 * * * *",
                                              "30 2 * * *", "@reboot"], start=1)]
    kept = NextRuns()
    for step in range(1000):
        now = NOW + timedelta(seconds=37 * step)
        assert kept.update(jobs, facts(now)) == NextRuns().update(jobs, facts(now))
    assert len(kept._due) <= len(jobs)


def test_answers_read_a_few_at_a_time_are_never_stale() -> None:
    """The table asks only for the rows it draws, a different few at each refresh: every
    answer read, whenever it was first computed, is the one a fresh computation gives then."""
    schedules = ["* * * * *", "*/7 * * * *", "0 * * * *", "30 2 * * *", "@reboot",
                 "15 seconds", "0 9 * * MON-FRI", "*/3 * * * *"]
    jobs = [job(i, schedules[i % len(schedules)]) for i in range(1, 41)]
    kept = NextRuns()
    kept.update(jobs, facts())
    assert not kept._from  # nothing computed before it is asked for
    assert not kept.fill(len(jobs)) and len(kept._from) == len(jobs)  # ...or filled in
    for step in range(400):
        now = NOW + timedelta(seconds=23 * step)
        if step % 50 == 49:  # a job edited now and then: a new object, a new answer
            jobs = list(jobs)
            jobs[step % 40] = replace(jobs[step % 40], schedule="*/2 * * * *")
        shown = kept.update(jobs, facts(now))
        kept.fill(3)  # between key presses: a few of those not asked for
        fresh = NextRuns().update(jobs, facts(now))
        for j in jobs[step % 40: step % 40 + 6]:  # the rows on screen this time
            assert shown.of(j) == fresh[j.jobid], (step, j.schedule)
    assert len(kept._due) <= len(jobs)
