-- The job's row, locked until the transaction ends, so nobody changes it between our
-- comparison with what the operator saw and our alter_job.
select jobid, jobname, schedule, command, database, username, active
from cron.job
where jobid = %(jobid)s::bigint
for update
