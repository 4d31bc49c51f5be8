-- Our limits, for this transaction only (the `true` of set_config is SET LOCAL): through a
-- transaction pooler (PgBouncer, Supavisor) a session setting would stay on the server
-- connection and reach the pool's next client. A null timeout leaves the server's own;
-- read-only is only ever turned on, never off (a role the DBA made read-only stays so).
-- The steady reads, prepared (%(planned_once)s), keep the plan made once per session: their
-- SQL is written so that a plan made without their parameters' values walks the primary key
-- and probes cron.job by its key, while PostgreSQL's own choice planned the largest anew at
-- every refresh (1.2 ms of a 10M-run server's 1.5). And no parallel workers: for the few rows
-- a refresh reads, starting them costs more than the read (4 ms of a generic plan's 6 ms).
select
    case when %(timeout)s::text is not null
        then set_config('statement_timeout', %(timeout)s::text, true) end as statement_timeout,
    case when %(read_only)s::bool
        then set_config('transaction_read_only', 'on', true) end as read_only,
    case when %(planned_once)s::bool
        then set_config('plan_cache_mode', 'force_generic_plan', true) end as plan_cache_mode,
    case when %(planned_once)s::bool
        then set_config('max_parallel_workers_per_gather', '0', true) end as parallel_workers
