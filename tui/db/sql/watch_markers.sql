-- A steady watch pass's markers, in one statement: what says whether the facts read once are
-- still true (the server's start, its configuration's last load, pg_cron's and pg_net's
-- versions, the role's attributes and its right to read schema cron), the jobs' fingerprint (rows, and the newest
-- transaction that wrote one: any insert, update or delete changes it), and what changes by
-- the minute: the launcher (a scan of pg_stat_activity's few rows), recovery, the oldest run
-- kept (the low end of the primary key) and the clock.
select
    now() as now,
    {scheduler_alive} as scheduler_alive,
    (select max(a.backend_start) from pg_stat_activity a
     where a.backend_type = 'pg_cron launcher') as launcher_start,
    pg_is_in_recovery() as in_recovery,
    pg_postmaster_start_time() as postmaster_start,
    pg_conf_load_time() as conf_load_time,
    (select extversion from pg_extension where extname = 'pg_cron') as pg_cron_version,
    (select extversion from pg_extension where extname = 'pg_net') as pg_net_version,
    (select r.oid::bigint::text || ':' || r.rolsuper::text || ':' || r.rolbypassrls::text
     from pg_roles r where r.rolname = current_user) as role,
    exists (select 1 from pg_namespace
            where nspname = 'cron' and has_schema_privilege(oid, 'usage')) as cron_usage,
    (select count(*)::text || ':' || coalesce(max(j.xmin::text::bigint), 0)::text
     from cron.job j) as jobs_fingerprint,
    (select min(o.start_time) from (select d.start_time from cron.job_run_details d
                                    order by d.runid limit 100) o) as oldest_start
