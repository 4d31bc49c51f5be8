-- Is pg_net here (its extension, or at least its responses table)?
select (select extversion from pg_extension where extname = 'pg_net') as extversion,
       to_regclass('net._http_response') is not null as has_responses
