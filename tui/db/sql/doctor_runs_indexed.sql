-- The newest %(per_job)s runs of each job: one range scan of the (jobid, runid) index per job,
-- never the whole history. Messages only for failed runs, cut short; for runs that have not
-- finished, whether their backend still exists and (for 'starting' rows, which have no
-- start_time yet) the start of the next run that has one, as a lower bound of their age.
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
from cron.job j
cross join lateral (
    select r.jobid, r.runid, r.status, r.start_time, r.end_time, r.job_pid, r.return_message
    from cron.job_run_details r
    where r.jobid = j.jobid
    order by r.runid desc
    limit %(per_job)s
) d
order by d.jobid, d.runid
