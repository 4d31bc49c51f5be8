-- pg_net.ttl (how long pg_net keeps its answers), in seconds; null where pg_net's library is
-- not loaded (the setting is then not defined).
select current_setting('pg_net.ttl', true) as ttl,
       extract(epoch from nullif(current_setting('pg_net.ttl', true), '')::interval)::float8
           as ttl_s
