-- The size of pg_cron's run history from the catalog: no scan of the table at all.
-- reltuples is -1 until the table is first vacuumed or analyzed.
select
    case when c.reltuples >= 0 then c.reltuples::bigint end as rows_estimate,
    pg_total_relation_size(c.oid) as total_bytes,
    pg_size_pretty(pg_total_relation_size(c.oid)) as total_pretty
from pg_class c
where c.oid = to_regclass('cron.job_run_details')
