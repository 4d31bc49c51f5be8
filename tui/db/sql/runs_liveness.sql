-- These runs (primary-key probes), with what tui/rules.py judges an orphaned run by: its
-- status, its backend's pid and whether that backend still exists, and for rows pg_cron never
-- cleans whether they are older than the server's start (the fragments: tui/db/queries.py).
select
    d.runid, d.status, d.job_pid,
    {run_pid_alive} as pid_alive,
    {run_before_server_start} as before_server_start
from cron.job_run_details d
where d.runid = any(%(ids)s::bigint[])
