update cron.job set nodename = {host} where jobid in ({jobids});
