(select coalesce(max(h.runid), 0) from cron.job_run_details h where h.end_time < {cutoff})
