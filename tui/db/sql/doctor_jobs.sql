-- Every job this role may see (row-level security: its own, unless superuser or BYPASSRLS),
-- with whether its owner and its database still exist. cron.job is small: one row per job.
select
    j.jobid, j.jobname, j.schedule, j.database, j.username, j.active, j.nodename, j.nodeport,
    exists (select 1 from pg_roles r where r.rolname = j.username) as owner_exists,
    exists (select 1 from pg_database d where d.datname = j.database) as database_exists,
    j.command,
    -- pg_net can be seen only from the job's own database: known for jobs that run here.
    case when j.database = current_database() then
        exists (select 1 from pg_extension e where e.extname = 'pg_net')
    end as pg_net_here
from cron.job j
order by j.jobid
