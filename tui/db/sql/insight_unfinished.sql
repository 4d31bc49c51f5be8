-- Runs not finished yet, among the newest %(lookback)s runs, with what tui/rules.py judges
-- an orphaned run by (the fragments: tui/db/queries.py).
select
    d.runid, d.jobid, d.status, d.start_time, d.end_time, d.job_pid,
    {run_pid_alive} as pid_alive,
    {run_before_server_start} as before_server_start
from cron.job_run_details d
where d.runid > {newest_runid} - %(lookback)s
  and d.status not in ('succeeded', 'failed')
order by d.runid
