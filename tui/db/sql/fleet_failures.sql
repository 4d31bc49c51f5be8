-- Failures in the last 24 hours among the newest runs (LOOKBACK_RUNS): a walk down the
-- primary key on runid, never a scan of the whole history.
select count(*) as failures from (
    select status, start_time from cron.job_run_details order by runid desc limit %(lookback)s
) r where r.status = 'failed' and r.start_time > now() - interval '24 hours'
