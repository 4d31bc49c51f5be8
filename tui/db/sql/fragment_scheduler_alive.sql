case
    when exists (select 1 from pg_stat_activity where backend_type = 'pg_cron launcher')
        then true
    when pg_has_role(current_user, 'pg_read_all_stats', 'usage') then false
end
