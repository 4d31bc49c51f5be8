-- The login role (not the one a SET ROLE took on): a manual run's record says who ran it.
select session_user as session_user
