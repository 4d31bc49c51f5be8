-- delete old runs in batches (repeat until it deletes 0 rows):
delete from cron.job_run_details where runid in (
    select runid from cron.job_run_details
    where coalesce(end_time, start_time) < now() - interval '7 days'
    order by runid limit 50000);
-- then keep it small with a job of its own:
select cron.schedule('purge-cron-history', '17 3 * * *', $$delete from cron.job_run_details where coalesce(end_time, start_time) < now() - interval '7 days'$$);
