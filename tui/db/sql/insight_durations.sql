-- Each job's usual duration and start time from its recent runs: the newest %(lookback)s runs
-- only (a primary-key range scan), so the cost stays flat at any history size.
select
    d.jobid,
    count(*) as runs,
    percentile_cont(0.5) within group (
        order by extract(epoch from d.end_time - d.start_time)) as median_s,
    percentile_cont(0.95) within group (
        order by extract(epoch from d.end_time - d.start_time)) as p95_s
from cron.job_run_details d
-- The bound is a scalar subquery (computed once): pg_sequence_last_value() is volatile, and
-- written in the condition itself it would be evaluated for every row of a full scan.
where d.runid > (select coalesce(
    case when has_sequence_privilege('cron.runid_seq', 'select')
         then pg_sequence_last_value('cron.runid_seq') end,
    (select max(m.runid) from cron.job_run_details m),
    0) - %(lookback)s)
  and d.status = 'succeeded' and d.end_time is not null and d.start_time is not null
group by d.jobid
