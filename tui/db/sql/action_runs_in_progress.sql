-- Runs of one job not finished yet, newest first, among the newest %(lookback)s runs (a range
-- scan of the primary key). `alive`: a backend with the run's pid still exists (pids are
-- visible to every role); a row left 'running' by a crash has none.
select
    d.runid, d.jobid, d.job_pid, d.status, d.start_time, d.username, d.database,
    d.return_message,
    now() - d.start_time as age,
    exists (select 1 from pg_stat_activity a where a.pid = d.job_pid) as alive
from cron.job_run_details d
where d.jobid = %(jobid)s::bigint
  and d.status in ('starting', 'connecting', 'sending', 'running')
  and d.runid > {newest_runid} - %(lookback)s
order by d.runid desc
