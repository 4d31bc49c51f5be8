-- A steady-state refresh of the jobs: flat however large the history grows. Markers of a change
-- to cron.job (the statistics' count of its writes; now and then a fingerprint: rows, and the
-- newest transaction that wrote one) and of a purge; the newest run of each job among the runs
-- newer than %(after)s (a range scan of the primary key), and the runs we last saw unfinished
-- (%(watch)s, primary key probes). The caller keeps each job's latest run and only merges what
-- is newer; an unfinished one comes with what tui/rules.py judges it orphaned by.
with written as (
    -- What the statistics count of each table's writes: cron.job's inserts, updates and
    -- deletes (a job added, edited or removed), and the runs' deletes (a purge: a job's last
    -- run may be gone). Two catalog probes: cheap at every refresh, where the fingerprint
    -- below reads every job. They reach the server as the writing session goes idle.
    select
        sum(pg_stat_get_tuples_inserted(c.oid) + pg_stat_get_tuples_updated(c.oid)
            + pg_stat_get_tuples_deleted(c.oid)) filter (where c.relname = 'job') as jobs,
        sum(pg_stat_get_tuples_deleted(c.oid)) filter (where c.relname = 'job_run_details')
            as runs_deleted
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'cron' and c.relname in ('job', 'job_run_details')
)
select
    w.jobs as jobs_written,
    w.runs_deleted,
    -- Asked for every few refreshes only: a standby's statistics count none of the primary's
    -- writes, and another session's may reach the server a few seconds late.
    case when %(fingerprint)s::bool then (
        select count(*)::text || ':' || coalesce(max(j.xmin::text::bigint), 0)::text
        from cron.job j) end as fingerprint,
    (select max(m.runid) from cron.job_run_details m) as newest,
    -- The runs the bounded read below takes, counted (an index-only scan of the same range):
    -- as many as its bound, and more may be left, so the caller reads in full. Not worked out
    -- from runids: a sequence skips numbers (setval after a restore, a sequence's cache).
    (select count(*) from (
        select 1 from cron.job_run_details c
        where c.runid > %(after)s::bigint order by c.runid limit 20000) b) as new_runs,
    r.jobid, r.runid, r.status, r.start_time, r.end_time, r.return_message,
    r.job_pid, r.pid_alive, r.before_server_start
from written w
left join lateral (
    select distinct on (d.jobid)
        d.jobid, d.runid, d.status, d.start_time, d.end_time, d.return_message,
        d.job_pid,
        {run_pid_alive} as pid_alive,
        {run_before_server_start} as before_server_start
    from (
        -- Bounded, in the primary key's order: a plan that walks the index whatever
        -- %(after)s is (a generic plan, prepared). More new runs than this since the last
        -- read: the caller reads in full.
        (select * from cron.job_run_details
         where runid > %(after)s::bigint order by runid limit 20000)
        union all
        (select * from cron.job_run_details where runid = any(%(watch)s::bigint[]))
    ) d
    order by d.jobid, d.runid desc
) r on true
