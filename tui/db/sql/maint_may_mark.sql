-- Whether this transaction may mark runs failed: the role may update cron.job_run_details
-- and the transaction is not read-only (our read-only mode, or a role the DBA made so).
select has_table_privilege('cron.job_run_details', 'update')
       and current_setting('transaction_read_only') = 'off' as may_mark
