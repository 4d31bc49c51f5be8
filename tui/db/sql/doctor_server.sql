-- What the doctor needs beyond facts.sql, in one round trip. pg_settings hides superuser-only
-- settings from other roles, and pg_stat_activity hides other roles' backend_type unless the
-- role may read all statistics: a null here means "not allowed to know", never "absent".
select
    (select setting from pg_settings where name = 'shared_preload_libraries') as preload,
    (select setting from pg_settings where name = 'cron.use_background_workers')
        as use_background_workers,
    (select setting from pg_settings where name = 'cron.host') as cron_host,
    (select setting from pg_settings where name = 'cron.launch_active_jobs')
        as launch_active_jobs,
    (select setting::int from pg_settings where name = 'cron.max_running_jobs')
        as max_running_jobs,
    current_setting('port')::int as port,
    pg_postmaster_start_time() as postmaster_start,
    pg_has_role(current_user, 'pg_read_all_stats', 'usage') as sees_processes,
    l.pid as launcher_pid,
    l.backend_start as launcher_start
from (select 1) as one
left join lateral (
    select a.pid, a.backend_start
    from pg_stat_activity a
    where a.backend_type = 'pg_cron launcher'
    order by a.backend_start
    limit 1
) l on true
