-- Our limits, for this transaction only (the `true` of set_config is SET LOCAL): through a
-- transaction pooler (PgBouncer, Supavisor) a session setting would stay on the server
-- connection and reach the pool's next client. A null timeout leaves the server's own;
-- read-only is only ever turned on, never off (a role the DBA made read-only stays so).
select
    case when %(timeout)s::text is not null
        then set_config('statement_timeout', %(timeout)s::text, true) end as statement_timeout,
    case when %(read_only)s::bool
        then set_config('transaction_read_only', 'on', true) end as read_only
