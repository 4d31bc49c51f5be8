-- The oldest and the newest runid of the history: two probes at the ends of the primary key.
select min(d.runid) as oldest, max(d.runid) as newest
from cron.job_run_details d
