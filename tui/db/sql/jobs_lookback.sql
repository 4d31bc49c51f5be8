-- Jobs with their latest run when cron.job_run_details has no (jobid, runid) index: look
-- only at the newest %(lookback)s runids (a range scan of the primary key), so the cost stays
-- flat however large the history grows. A job with no run among them may have run earlier:
-- its `last_run_lookback` says how far was searched, unless the look-back covered the whole
-- history (then the job never ran, as far as this role can see).
with top as (
    select {newest_runid} as runid
),
recent as (
    select distinct on (w.jobid)
        w.jobid, w.runid, w.status, w.start_time, w.end_time, w.return_message, w.job_pid
    from (
        -- The limit changes no result (the range holds at most that many runids); it tells
        -- the planner how few rows come, which otherwise guesses a third of the table and
        -- compiles the query with JIT at every full read.
        select d.jobid, d.runid, d.status, d.start_time, d.end_time, d.return_message,
            d.job_pid
        from cron.job_run_details d
        where d.runid > (select runid from top) - %(lookback)s
        order by d.runid desc
        limit %(lookback)s
    ) w
    order by w.jobid, w.runid desc
),
whole as (
    -- The look-back saw everything when no runid reaches below it: min(runid) is one probe
    -- at the low end of the primary key. Under row-level security that probe would step
    -- over every other role's runs first, so such a role is told "not known" instead
    -- (CASE keeps the probe from running for it).
    select case
        when (select runid from top) <= %(lookback)s then true
        when (select rolsuper or rolbypassrls from pg_roles where rolname = current_user)
            then coalesce((select min(m.runid) from cron.job_run_details m), 0)
                 > (select runid from top) - %(lookback)s
        else false
    end as covered
)
select
    j.jobid, j.jobname, j.schedule, j.command, j.database, j.username, j.active,
    r.runid as last_runid, r.status as last_status, r.start_time as last_start,
    r.end_time as last_end, r.return_message as last_message,
    case when r.runid is null and not w.covered then %(lookback)s::bigint end
        as last_run_lookback,
    d.job_pid, d.pid_alive, d.before_server_start  -- an unfinished one's liveness (rules.py)
from cron.job j
cross join whole w
left join recent r on r.jobid = j.jobid
left join lateral (  -- judged for the jobs' last runs only, not the whole look-back
    select d.job_pid,
        {run_pid_alive} as pid_alive,
        {run_before_server_start} as before_server_start
    from (select r.runid, r.status, r.start_time, r.job_pid) d
) d on r.runid is not null
order by j.jobid
