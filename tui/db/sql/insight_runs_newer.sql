-- Runs as insight_runs_page.sql reads them for every job, for a session that keeps what it read
-- (tui/db/insight.py, RunsSince): those newer than %(after)s, a primary-key range scan, and
-- those it holds unfinished (%(watch)s, primary-key probes).
select
    d.runid, d.jobid, d.status, d.start_time, d.end_time,
    case when d.status = 'failed' then left(d.return_message, 500) end as message
from cron.job_run_details d
where d.runid > %(after)s::bigint or d.runid = any(%(watch)s::bigint[])
order by d.runid desc
limit %(limit)s
