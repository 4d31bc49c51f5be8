-- One job's newest runs within one slice of runids, low <= runid < high: a range scan of the
-- primary key that stops at the slice's end, so a search further back than the look-back
-- costs the same at each step however large the history is, and no step reads it whole.
select
    d.runid, d.jobid, j.jobname, d.database, d.username, d.status, d.return_message,
    d.start_time, d.end_time,
    j.jobid is not null as job_exists
from cron.job_run_details d
left join cron.job j on j.jobid = d.jobid
where d.runid >= %(low)s::bigint and d.runid < %(high)s::bigint
  and d.jobid = %(jobid)s::bigint
order by d.runid desc
limit %(limit)s
