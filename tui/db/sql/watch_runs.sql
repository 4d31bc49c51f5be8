-- A watch pass's runs: those newer than the last one seen (a range scan of the primary key,
-- oldest first, at most %(limit)s) and those it saw unfinished (%(ids)s, primary key probes),
-- with what tui/rules.py judges an unfinished run orphaned by (the fragments: computed for
-- unfinished runs only).
select
    d.runid, d.jobid, j.jobname, d.database, d.username, d.status, d.return_message,
    d.start_time, d.end_time,
    j.jobid is not null as job_exists,  -- runs outlive their job: pg_cron never purges them
    d.job_pid,
    {run_pid_alive} as pid_alive,
    {run_before_server_start} as before_server_start
from (
    (select n.* from cron.job_run_details n
     where n.runid > %(after)s::bigint
     order by n.runid
     limit %(limit)s)
    union all
    (select o.* from cron.job_run_details o
     where o.runid = any(%(ids)s::bigint[]) and o.runid <= %(after)s::bigint)
) d
left join cron.job j on j.jobid = d.jobid
order by d.runid
