-- The end of a manual run recorded by action_run_start.
update cron.job_run_details
set status = %(status)s::text, return_message = %(message)s::text, end_time = now()
where runid = %(runid)s::bigint
returning end_time
