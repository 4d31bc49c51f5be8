delete from cron.job_run_details d where {rule}
