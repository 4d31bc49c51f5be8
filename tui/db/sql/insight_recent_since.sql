-- The newest runs as a session keeps them between reads (tui/db/insight.py, RecentRuns): the
-- newest runid, and the runs among the newest %(lookback)s runids that are newer than
-- %(after)s (0: all of them) or were unfinished at the last read (%(watch)s); a primary-key
-- range scan and a few probes. With what tui/rules.py judges an orphaned run by and whether
-- the app started it (not part of a job's usual). No run: one row of nulls with the newest.
select
    n.newest,
    r.runid, r.jobid, r.status, r.start_time, r.end_time, r.job_pid, r.manual,
    r.pid_alive, r.before_server_start
from (select {newest_runid} as newest) n
left join lateral (
    select
        d.runid, d.jobid, d.status, d.start_time, d.end_time, d.job_pid,
        coalesce(d.return_message, '') like 'manual run by %%' as manual,
        {run_pid_alive} as pid_alive,
        {run_before_server_start} as before_server_start
    from cron.job_run_details d
    where d.runid > n.newest - %(lookback)s
      and (d.runid > %(after)s or d.runid = any(%(watch)s::bigint[]))
) r on true
order by r.runid
