select pg_total_relation_size('cron.job_run_details')
