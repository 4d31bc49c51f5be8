-- Without a (jobid, runid) index: only the newest %(lookback)s runs, a range scan of the
-- primary key (the bound and the facts about unfinished runs: tui/db/queries.py).
select
    d.jobid, d.runid, d.status, d.start_time, d.end_time, d.job_pid,
    case when d.status = 'failed' then left(d.return_message, 500) end as message,
    {run_pid_alive} as pid_alive,
    {run_before_server_start} as before_server_start,
    case when d.start_time is null and d.status not in ('succeeded', 'failed') then
        (select n.start_time from cron.job_run_details n
         where n.runid > d.runid and n.start_time is not null
         order by n.runid limit 1)
    end as seen_after
from cron.job_run_details d
where d.runid > {newest_runid} - %(lookback)s
order by d.jobid, d.runid
