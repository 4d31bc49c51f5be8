-- pg_net responses that are errors, newer than the last one seen (keyset on id).
select r.id, r.status_code, r.timed_out, left(r.error_msg, 500) as error_msg,
       left(r.content::text, 300) as content, r.created
from net._http_response r
where r.id > %(after)s::bigint
  and (r.status_code >= 400 or r.timed_out or r.error_msg is not null)
order by r.id
limit %(limit)s
