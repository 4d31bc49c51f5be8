-- The server's own verdict on a schedule; the caller rolls the transaction back.
select cron.schedule(%(name)s::text, %(schedule)s::text, 'select 1')
