-- The first statement of every write: why this session may not write, if it may not (our own
-- check, before pg_cron's: cron.unschedule deletes even inside a READ ONLY transaction), and
-- a lock timeout that ends with this transaction (so it never leaks through a pooler).
select
    case
        when pg_is_in_recovery()
            then 'this server is a standby (in recovery): connect to the primary'
        when current_setting('transaction_read_only') = 'on'
            then 'this session is read-only at the server (default_transaction_read_only is '
                 'on for this role, database or pooler): connect with a role that may write'
    end as read_only_reason,
    set_config('lock_timeout', %(lock_timeout)s::text, true) as lock_timeout
