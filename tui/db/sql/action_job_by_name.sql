-- cron.schedule(name, ...) upserts on (jobname, username): look before creating.
select jobid
from cron.job
where jobname = %(name)s::text and username = %(username)s::text
