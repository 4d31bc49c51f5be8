-- A new active job in this database, owned by the current user.
select cron.schedule(%(name)s::text, %(schedule)s::text, %(command)s::text) as jobid
