-- Every job this role may see (row-level security: its own, unless superuser or BYPASSRLS),
-- with whether its owner still exists. cron.job is small: one row per job.
select
    j.jobid, j.jobname, j.schedule, j.database, j.username, j.active, j.nodename, j.nodeport,
    exists (select 1 from pg_roles r where r.rolname = j.username) as owner_exists
from cron.job j
order by j.jobid
