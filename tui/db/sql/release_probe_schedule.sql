-- Does this pg_cron accept the schedule? Asked only inside a transaction that is rolled back,
-- so no job is left behind (a job id from the sequence may be used up). The two-argument form
-- always inserts, so no existing job of this role is touched or locked.
select cron.schedule(%(schedule)s::text, 'select 1')
