-- release_probe.sql's answers, and cron.match_dom_and_dow, which exists only after 1.6.7
-- (master, commit 36f1b33). It is a superuser-only setting: pg_settings hides it from roles
-- without pg_read_all_settings, so `readable` says whether its absence means anything.
select
    current_setting('cronjobs_tui.release_probe', true)::json as answers,
    (select setting from pg_settings where name = 'cron.match_dom_and_dow') as match_dom_and_dow,
    exists (select 1 from pg_settings where name = 'cron.database_name') as readable
