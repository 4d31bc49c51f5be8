-- Every job this role sees, as a jobs file is compared with them (no runs needed).
select jobid, jobname, schedule, command, database, username, active
from cron.job
order by jobid
