-- Jobs with their latest run when cron.job_run_details has no (jobid, runid) index:
-- look only at the newest %(lookback)s runs (a range scan of the primary key), so the
-- cost stays flat however large the history grows. Jobs that ran earlier show no last run.
with recent as (
    select distinct on (d.jobid)
        d.jobid, d.runid, d.status, d.start_time, d.end_time, d.return_message
    from cron.job_run_details d
    where d.runid > (select coalesce(max(runid), 0) from cron.job_run_details) - %(lookback)s
    order by d.jobid, d.runid desc
)
select
    j.jobid, j.jobname, j.schedule, j.command, j.database, j.username, j.active,
    r.runid as last_runid, r.status as last_status, r.start_time as last_start,
    r.end_time as last_end, r.return_message as last_message
from cron.job j
left join recent r on r.jobid = j.jobid
order by j.jobid
