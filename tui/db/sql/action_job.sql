-- One job as it is now, with its latest run among the newest %(lookback)s runs (a range scan
-- of the primary key, so the cost stays flat without a (jobid, runid) index).
select
    j.jobid, j.jobname, j.schedule, j.command, j.database, j.username, j.active,
    r.runid as last_runid, r.status as last_status, r.start_time as last_start,
    r.end_time as last_end, r.return_message as last_message
from cron.job j
left join lateral (
    select d.runid, d.status, d.start_time, d.end_time, d.return_message
    from cron.job_run_details d
    where d.jobid = j.jobid
      and d.runid > {newest_runid} - %(lookback)s
    order by d.runid desc
    limit 1
) r on true
where j.jobid = %(jobid)s::bigint
