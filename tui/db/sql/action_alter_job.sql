-- Nulls leave a field alone; active is always set explicitly by the caller when given.
select cron.alter_job(
    job_id := %(jobid)s::bigint,
    schedule := %(schedule)s::text,
    command := %(command)s::text,
    database := %(database)s::text,
    username := %(username)s::text,
    active := %(active)s::boolean
)
