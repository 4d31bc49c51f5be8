update cron.job_run_details set status = 'failed', end_time = now(), return_message = 'marked failed by hand' where runid = {runid};
