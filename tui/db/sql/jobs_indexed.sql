-- Jobs with their latest run: one index probe per job on (jobid, runid).
select
    j.jobid, j.jobname, j.schedule, j.command, j.database, j.username, j.active,
    r.runid as last_runid, r.status as last_status, r.start_time as last_start,
    r.end_time as last_end, r.return_message as last_message,
    r.job_pid, r.pid_alive, r.before_server_start  -- an unfinished one's liveness (rules.py)
from cron.job j
left join lateral (
    select d.runid, d.status, d.start_time, d.end_time, d.return_message, d.job_pid,
        {run_pid_alive} as pid_alive,
        {run_before_server_start} as before_server_start
    from cron.job_run_details d
    where d.jobid = j.jobid
    order by d.runid desc
    limit 1
) r on true
order by j.jobid
