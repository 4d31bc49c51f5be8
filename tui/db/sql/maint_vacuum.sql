-- Makes the purged space reusable (and gives back what is at the end of the file); cannot
-- run in a transaction block.
vacuum cron.job_run_details
