-- Must run outside a transaction block (autocommit). pg_cron keeps writing meanwhile.
create index concurrently if not exists {index}
    on cron.job_run_details (jobid, runid)
