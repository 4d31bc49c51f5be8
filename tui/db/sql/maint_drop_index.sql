-- What a cancelled or failed concurrent build leaves behind: an INVALID index.
drop index concurrently if exists cron.job_run_details_jobid_runid_idx
