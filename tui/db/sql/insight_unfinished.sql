-- Runs not finished yet, among the newest %(lookback)s runs, with whether their backend lives.
select
    d.runid, d.jobid, d.status, d.start_time, d.end_time, d.job_pid,
    exists (select 1 from pg_stat_activity a where a.pid = d.job_pid) as pid_alive
from cron.job_run_details d
-- A scalar subquery, computed once: pg_sequence_last_value() is volatile, and in the condition
-- itself it would be evaluated per row, turning the primary-key range scan into a full scan.
where d.runid > (select coalesce(
    case when has_sequence_privilege('cron.runid_seq', 'select')
         then pg_sequence_last_value('cron.runid_seq') end,
    (select max(m.runid) from cron.job_run_details m),
    0) - %(lookback)s)
  and d.status not in ('succeeded', 'failed')
order by d.runid
