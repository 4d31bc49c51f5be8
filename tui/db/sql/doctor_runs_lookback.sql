-- Without a (jobid, runid) index: only the newest %(lookback)s runs, a range scan of the
-- primary key. The newest runid comes from the sequence when this role may read it (PUBLIC may
-- select it), so a role that sees few rows does not walk the whole index for max(runid).
select
    d.jobid, d.runid, d.status, d.start_time, d.end_time, d.job_pid,
    case when d.status = 'failed' then left(d.return_message, 500) end as message,
    case when d.status not in ('succeeded', 'failed') then
        exists (select 1 from pg_stat_activity a where a.pid = d.job_pid)
    end as pid_alive,
    case when d.start_time is null and d.status not in ('succeeded', 'failed') then
        (select n.start_time from cron.job_run_details n
         where n.runid > d.runid and n.start_time is not null
         order by n.runid limit 1)
    end as seen_after
from cron.job_run_details d
-- A scalar subquery, computed once: pg_sequence_last_value() is volatile, and in the condition
-- itself it would be evaluated per row, turning the primary-key range scan into a full scan.
where d.runid > (select coalesce(
    case when has_sequence_privilege('cron.runid_seq', 'select')
         then pg_sequence_last_value('cron.runid_seq') end,
    (select max(m.runid) from cron.job_run_details m),
    0) - %(lookback)s)
order by d.jobid, d.runid
