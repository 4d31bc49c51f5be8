-- Whether pg_net's response table exists here and this role may read it; found through the
-- catalogs by name (to_regclass() would need USAGE on schema net).
select
    count(*) > 0 as present,
    coalesce(bool_and(has_schema_privilege(n.oid, 'usage')
                      and has_table_privilege(c.oid, 'select')), false) as readable
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
where n.nspname = 'net' and c.relname = '_http_response'
