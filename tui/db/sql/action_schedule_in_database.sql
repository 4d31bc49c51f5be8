-- A new job in another database, for another role, or created paused.
select cron.schedule_in_database(
    job_name := %(name)s::text,
    schedule := %(schedule)s::text,
    command := %(command)s::text,
    database := %(database)s::text,
    username := %(username)s::text,
    active := %(active)s::boolean
) as jobid
