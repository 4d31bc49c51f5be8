case
    when d.status in ('connecting', 'sending') then coalesce(
        coalesce(d.start_time,
                 (select n.start_time from cron.job_run_details n
                  where n.runid > d.runid and n.start_time is not null
                  order by n.runid limit 1)) < pg_postmaster_start_time(),
        false)
    else false
end
