-- release_probe_all.sql's answers, read in the same transaction (the setting is local to it).
select current_setting('cronjobs_tui.release_probe', true) as answers
