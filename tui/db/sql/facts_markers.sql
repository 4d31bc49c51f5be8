-- What a steady refresh reads of the server (tui/db/steady.py): the facts that change from
-- one refresh to the next, and markers of the rest of facts.sql, which is read again when
-- one of them moves: a restart (pg_cron's release, its settings), a reload of the
-- configuration, ALTER EXTENSION pg_cron UPDATE, a promotion, an index built or dropped
-- on cron.job_run_details (found by name: to_regclass() would need USAGE on schema cron).
select
    pg_postmaster_start_time() as server_started,
    pg_conf_load_time() as conf_loaded,
    (select extversion from pg_extension where extname = 'pg_cron') as pg_cron_version,
    pg_is_in_recovery() as in_recovery,
    (select count(*) filter (where i.indisvalid)
     from pg_index i
     join pg_class c on c.oid = i.indrelid
     join pg_namespace n on n.oid = c.relnamespace
     where n.nspname = 'cron' and c.relname = 'job_run_details') as run_indexes,
    {scheduler_alive} as scheduler_alive,
    current_setting('transaction_read_only') = 'on' as read_only,
    now() as now
