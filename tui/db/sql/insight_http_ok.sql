-- The newest pg_net response after id %(after)s that is not an error (keyset on id): an
-- episode of error answers ends with it.
select max(r.id) as id
from net._http_response r
where r.id > %(after)s::bigint
  and r.status_code < 400 and not coalesce(r.timed_out, false) and r.error_msg is null
