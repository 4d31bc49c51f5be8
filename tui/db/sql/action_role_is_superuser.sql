-- Whether a role is a superuser (only superusers may cancel a superuser's statement).
select coalesce((select rolsuper from pg_roles where rolname = %(username)s::text), false)
    as rolsuper
