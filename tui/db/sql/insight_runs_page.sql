-- One page of runs, newest first, keyset on runid (the primary key): the caller pages back
-- until the runs start before its window, with a bound on the rows read. Messages only for
-- the failed runs of the job being explained (null: every job's).
select
    d.runid, d.jobid, d.status, d.start_time, d.end_time,
    case when d.status = 'failed'
          and (%(jobid)s::bigint is null or d.jobid = %(jobid)s::bigint)
         then left(d.return_message, 500) end as message
from cron.job_run_details d
where d.runid < %(before)s::bigint
order by d.runid desc
limit %(limit)s
