-- Runs newer than the last one seen, oldest first, so a stream can resume where it stopped.
select
    d.runid, d.jobid, j.jobname, d.database, d.username, d.status, d.return_message,
    d.start_time, d.end_time,
    d.job_pid,  -- and the two facts tui/rules.py judges an unfinished run orphaned by:
    {run_pid_alive} as pid_alive,
    {run_before_server_start} as before_server_start,
    j.jobid is not null as job_exists  -- runs outlive their job: pg_cron never purges them
from cron.job_run_details d
left join cron.job j on j.jobid = d.jobid
where d.runid > %(after)s::bigint
  and (%(jobid)s::bigint is null or d.jobid = %(jobid)s::bigint)
  and (%(status)s::text is null or d.status = %(status)s::text)
order by d.runid
limit %(limit)s
