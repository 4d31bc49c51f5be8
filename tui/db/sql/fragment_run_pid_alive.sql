case
    when d.status not in ('starting', 'connecting', 'sending', 'running')
         or coalesce(d.job_pid, 0) = 0 then null
    when pg_is_in_recovery()
         or not exists (select 1 from pg_stat_activity o where o.pid <> pg_backend_pid())
        then null
    else exists (select 1 from pg_stat_activity a where a.pid = d.job_pid)
end
