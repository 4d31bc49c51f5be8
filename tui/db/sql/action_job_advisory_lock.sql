-- The job's row for a role that may not lock cron.job (FOR UPDATE needs UPDATE on it,
-- which only superusers have): a transaction-scoped advisory lock on the job's id keeps
-- two cronjobs-tui sessions from interleaving their check-then-write.
select jobid, jobname, schedule, command, database, username, active
from cron.job, pg_advisory_xact_lock(hashtext('cronjobs-tui.job'), %(jobid)s::int)
where jobid = %(jobid)s::bigint
