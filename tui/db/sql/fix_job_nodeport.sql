update cron.job set nodeport = {port} where jobid in ({jobids});
