-- Every unfinished run, with its job's name and what tui/rules.py judges an orphaned run by
-- (the fragments: tui/db/queries.py). pg_cron has no index on status: a scan, under our
-- time limit.
select
    d.runid, j.jobname, d.status, d.start_time, d.job_pid,
    {run_pid_alive} as pid_alive,
    {run_before_server_start} as before_server_start
from cron.job_run_details d
left join cron.job j on j.jobid = d.jobid
where d.status in ('starting', 'connecting', 'sending', 'running')
order by d.runid
