(
    d.end_time < {cutoff}
    or (d.end_time is null
        and (d.start_time < {cutoff} or (d.start_time is null and d.runid < {horizon}))
        and not exists (select 1 from pg_stat_activity a where a.pid = d.job_pid))
)
