-- Who and where we are, and whether the database and role an action names exist
-- (pg_database and pg_roles are readable by every role). A null name counts as existing.
select
    current_user as "current_user",
    current_database() as "current_database",
    %(database)s::text is null
        or exists (select 1 from pg_database where datname = %(database)s::text)
        as database_exists,
    %(username)s::text is null
        or exists (select 1 from pg_roles where rolname = %(username)s::text) as role_exists
