-- A steady-state refresh of the jobs: flat however large the history grows. A fingerprint of
-- cron.job (rows, and the newest transaction that wrote one: any insert, update or delete
-- changes it), the newest run of each job among the runs newer than %(after)s (a range scan
-- of the primary key), and the runs we last saw unfinished (%(watch)s, primary key probes).
-- The caller keeps each job's latest run and only merges what is newer; an unfinished one
-- comes with what tui/rules.py judges it orphaned by.
select
    (select count(*)::text || ':' || coalesce(max(j.xmin::text::bigint), 0)::text
     from cron.job j) as fingerprint,
    (select max(m.runid) from cron.job_run_details m) as newest,
    -- Rows ever deleted from the runs (a purge: a job's last run may be gone), as counted by
    -- the statistics: what a read of the jobs' latest runs in full must follow.
    (select pg_stat_get_tuples_deleted(c.oid)
     from pg_class c
     join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'cron' and c.relname = 'job_run_details') as deleted,
    r.jobid, r.runid, r.status, r.start_time, r.end_time, r.return_message,
    r.job_pid, r.pid_alive, r.before_server_start
from (select 1) as one
left join lateral (
    select distinct on (d.jobid)
        d.jobid, d.runid, d.status, d.start_time, d.end_time, d.return_message,
        d.job_pid,
        {run_pid_alive} as pid_alive,
        {run_before_server_start} as before_server_start
    from cron.job_run_details d
    where d.runid > %(after)s::bigint or d.runid = any(%(watch)s::bigint[])
    order by d.jobid, d.runid desc
) r on true
