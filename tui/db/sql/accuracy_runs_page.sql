-- One page of runs for the accuracy check, newest first, keyset on runid (the primary key):
-- every job's runs, whether each was started by hand (run-now writes 'manual run by ...':
-- those were never the scheduler's), and the failed runs' messages.
select
    d.runid, d.jobid, d.status, d.start_time, d.end_time,
    coalesce(d.return_message, '') like 'manual run by %%' as manual,
    case when d.status = 'failed' then left(d.return_message, 500) end as message
from cron.job_run_details d
where d.runid < %(before)s::bigint
  and (%(jobid)s::bigint is null or d.jobid = %(jobid)s::bigint)
order by d.runid desc
limit %(limit)s
