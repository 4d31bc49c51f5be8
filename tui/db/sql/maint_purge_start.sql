-- Where a purge starts: its cutoff (fixed for all its batches), the runid range (two
-- probes of the primary key), the size on disk and the catalog's row estimate.
select
    now() - make_interval(days => %(days)s::int) as cutoff,
    (select min(runid) from cron.job_run_details) as lo,
    (select max(runid) from cron.job_run_details) as hi,
    pg_total_relation_size('cron.job_run_details') as total_bytes,
    (select case when reltuples >= 0 then reltuples::bigint end
     from pg_class where oid = 'cron.job_run_details'::regclass) as rows_estimate
