-- The history's size from the catalog (no scan), and whether our (jobid, runid) index is
-- there and valid; `building` means an index of that name exists but is not valid yet (a
-- concurrent build in progress, or one that was interrupted and must be dropped).
select
    case when c.reltuples >= 0 then c.reltuples::bigint end as rows_estimate,
    pg_total_relation_size(c.oid) as total_bytes,
    exists (
        select 1
        from pg_index i
        where i.indrelid = c.oid and i.indisvalid and i.indpred is null and i.indnatts >= 2
          and i.indkey[0] = (select attnum from pg_attribute
                             where attrelid = c.oid and attname = 'jobid')
          and i.indkey[1] = (select attnum from pg_attribute
                             where attrelid = c.oid and attname = 'runid')
    ) as has_index,
    exists (
        select 1
        from pg_index i
        join pg_class ic on ic.oid = i.indexrelid
        where i.indrelid = c.oid and ic.relname = %(index)s
          and not i.indisvalid
    ) as building
from pg_class c
where c.oid = 'cron.job_run_details'::regclass
