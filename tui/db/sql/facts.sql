-- Facts about the server that every screen needs. The TUI reads them at connect and keeps
-- them; each refresh reads only facts_markers.sql (tui/db/steady.py).
-- pg_settings hides superuser-only settings (cron.*) from roles that may not read them,
-- so a missing row means "not allowed to know", never an error.
select
    current_setting('server_version') as server_version,
    current_setting('server_version_num')::int as server_version_num,
    (select extversion from pg_extension where extname = 'pg_cron') as pg_cron_version,
    (select default_version from pg_available_extensions where name = 'pg_cron')
        as pg_cron_available,
    current_database() as database,
    current_user as "current_user",
    coalesce(host(inet_server_addr()), 'local socket') as server_addr,
    inet_server_port() as server_port,
    inet_client_port() as client_port,  -- ours as the server sees it (connect.is_direct)
    (select rolsuper from pg_roles where rolname = current_user) as is_superuser,
    (select rolsuper or rolbypassrls from pg_roles where rolname = current_user) as sees_all,
    -- Other roles' backends show a null backend_type unless we may read all stats:
    -- then "not seen" means "unknown", not "dead".
    {scheduler_alive} as scheduler_alive,
    (select setting from pg_settings where name = 'cron.database_name') as cron_database_name,
    (select setting from pg_settings where name = 'cron.timezone') as cron_timezone,
    exists (select 1 from pg_settings where name = 'cron.database_name') as can_read_settings,
    exists (select 1 from pg_namespace
            where nspname = 'cron' and has_schema_privilege(oid, 'usage')) as cron_usage,
    pg_is_in_recovery() as in_recovery,
    -- This transaction's: on in our read-only mode (set per transaction) or by the server's say.
    current_setting('transaction_read_only') = 'on' as read_only,
    -- The server's say alone (the role's or database's default: we never set it).
    current_setting('default_transaction_read_only') = 'on' as server_read_only,
    -- A standby's primary: the WAL receiver's address needs pg_read_all_stats, the setting
    -- superuser (or pg_read_all_settings); both stay null otherwise, and on a primary.
    (select sender_host from pg_stat_wal_receiver) as primary_host,
    (select sender_port from pg_stat_wal_receiver) as primary_port,
    (select nullif(setting, '') from pg_settings
     where name = 'primary_conninfo' and pg_is_in_recovery()) as primary_conninfo,
    -- Found through the catalogs by name: to_regclass() would need USAGE on schema cron.
    exists (
        select 1
        from pg_index i
        join pg_class c on c.oid = i.indrelid
        join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = 'cron' and c.relname = 'job_run_details'
          and i.indisvalid
          and i.indpred is null
          and i.indnatts >= 2
          and i.indkey[0] = (select attnum from pg_attribute
                             where attrelid = i.indrelid and attname = 'jobid')
          and i.indkey[1] = (select attnum from pg_attribute
                             where attrelid = i.indrelid and attname = 'runid')
    ) as has_run_index,
    now() as now
