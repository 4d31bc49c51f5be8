-- What explains a missed time: when the launcher and the server (re)started, whether this is
-- a standby, the concurrency limit, and the oldest run kept (older times: history purged).
-- Other roles' backends are hidden without pg_read_all_stats: launcher_known says so.
select
    (select max(a.backend_start) from pg_stat_activity a
     where a.backend_type = 'pg_cron launcher') as launcher_start,
    (exists (select 1 from pg_stat_activity a where a.backend_type = 'pg_cron launcher')
     or pg_has_role(current_user, 'pg_read_all_stats', 'usage')) as launcher_known,
    pg_postmaster_start_time() as postmaster_start,
    pg_is_in_recovery() as in_recovery,
    (select s.setting::int from pg_settings s where s.name = 'cron.max_running_jobs')
        as max_running_jobs,
    -- The low end of the primary key: an index probe, not a scan.
    (select min(o.start_time) from (select d.start_time from cron.job_run_details d
                                    order by d.runid limit 100) o) as oldest_start,
    now() as now
