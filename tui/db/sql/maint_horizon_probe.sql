-- The first run at or after runid %(runid)s that has a start_time (a step of the binary
-- search for the purge's horizon: one probe down the primary key).
select start_time from cron.job_run_details
where runid >= %(runid)s and start_time is not null order by runid limit 1
