-- Must run outside a transaction block (autocommit). pg_cron keeps writing meanwhile.
create index concurrently if not exists job_run_details_jobid_runid_idx
    on cron.job_run_details (jobid, runid)
