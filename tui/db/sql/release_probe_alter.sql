-- Does this pg_cron accept the schedule? alter_job parses it before it looks for the job, and
-- job -1 never exists: "invalid schedule" or "Job -1 does not exist", and nothing is written
-- (no sequence value used either). EXECUTE on alter_job is revoked from PUBLIC by pg_cron:
-- without it, release_probe_schedule.sql asks instead.
select cron.alter_job(-1, schedule := %(schedule)s::text)
