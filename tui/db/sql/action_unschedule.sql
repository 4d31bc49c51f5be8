-- The bigint cast picks unschedule(job_id), not unschedule(job_name).
select cron.unschedule(%(jobid)s::bigint)
