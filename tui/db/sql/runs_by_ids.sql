-- The current state of runs we saw unfinished (starting, connecting, sending, running).
select
    d.runid, d.jobid,
    -- cron.job probed by its key per run returned, whatever a plan guesses of their number
    -- (the steady refresh runs this prepared: a generic plan's join would hash every job).
    (select j.jobname from cron.job j where j.jobid = d.jobid) as jobname,
    d.database, d.username, d.status, d.return_message,
    d.start_time, d.end_time,
    d.job_pid,  -- and the two facts tui/rules.py judges an unfinished run orphaned by:
    {run_pid_alive} as pid_alive,
    {run_before_server_start} as before_server_start,
    -- Runs outlive their job: pg_cron never purges them.
    coalesce((select true from cron.job j where j.jobid = d.jobid), false) as job_exists
from cron.job_run_details d
where d.runid = any(%(ids)s::bigint[])
order by d.runid
