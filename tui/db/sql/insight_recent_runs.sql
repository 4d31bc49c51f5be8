-- Every job's newest finished runs, for its usual start lag and duration: only the newest
-- %(lookback)s runids and at most %(per_job)s runs a job, so one query serves all jobs at a
-- cost that stays flat at any history size (the bound: tui/db/queries.py). This is the one
-- sample of a job's usual (tui/rules.py).
-- Its status also draws the jobs table's run strips (tui/insight/strips.py).
select r.runid, r.jobid, r.status, r.start_time, r.end_time
from (
    select d.runid, d.jobid, d.status, d.start_time, d.end_time,
           row_number() over (partition by d.jobid order by d.runid desc) as n
    from cron.job_run_details d
    where d.runid > {newest_runid} - %(lookback)s
      and d.status in ('succeeded', 'failed')
      and d.start_time is not null and d.end_time is not null
      -- runs started from the app (tui/db/actions) keep no schedule: not part of the usual
      and coalesce(d.return_message, '') not like 'manual run by %%'
) r
where r.n <= %(per_job)s
