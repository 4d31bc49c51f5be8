-- How many runs a purge of runs older than N days would delete, counted up to a bound (the
-- limit stops the count early on a huge history: a scan in runid order meets old runs first).
select count(*) as runs
from (
    select 1 from cron.job_run_details d
    where {rule}
    limit %(limit)s
) s
