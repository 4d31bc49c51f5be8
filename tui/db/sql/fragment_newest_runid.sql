(select coalesce(
    case when has_sequence_privilege('cron.runid_seq', 'select')
         then pg_sequence_last_value('cron.runid_seq') end,
    (select max(m.runid) from cron.job_run_details m),
    0))
