-- One batch of the purge: a runid range (a primary-key range scan), only rows the rule allows.
delete from cron.job_run_details d where d.runid >= %(a)s and d.runid < %(b)s and {rule}
