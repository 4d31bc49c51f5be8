-- Where pg_cron would run a job: over a connection to its nodename:nodeport, unless it uses
-- background workers (then in this server). pg_settings hides cron.* from roles that may not
-- read them: a null use_background_workers means "not allowed to know".
select
    j.nodename, j.nodeport,
    current_setting('port')::int as port,
    (select setting from pg_settings where name = 'cron.use_background_workers')
        as use_background_workers,
    (select setting from pg_settings where name = 'cron.host') as cron_host,
    coalesce(host(inet_server_addr()), 'local socket') as server_addr,
    now() as now
from cron.job j
where j.jobid = %(jobid)s::bigint
