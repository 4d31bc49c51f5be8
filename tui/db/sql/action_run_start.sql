-- A manual run, recorded as pg_cron records its own (needs INSERT on job_run_details and
-- USAGE on cron.runid_seq: superusers have both, other roles usually neither).
insert into cron.job_run_details
    (jobid, runid, job_pid, database, username, command, status, return_message, start_time)
values (
    %(jobid)s::bigint, nextval('cron.runid_seq'), %(pid)s::int, %(database)s::text,
    %(username)s::text, %(command)s::text, 'running', %(message)s::text, now()
)
returning runid, start_time
