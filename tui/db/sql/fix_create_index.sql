create index concurrently job_run_details_jobid_runid_idx on cron.job_run_details (jobid, runid);
