-- pg_net's recent answers (kept for pg_net.ttl, 6 h by default), newest first.
select id, status_code, timed_out, error_msg, left(content, 300) as content, created
from net._http_response
where %(since)s::timestamptz is null or created >= %(since)s::timestamptz
order by created desc, id desc
limit %(limit)s
