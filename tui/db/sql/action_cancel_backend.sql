-- Cancel a run's statement, only while its pid still belongs to a backend of the run's role in
-- the run's database that started no later than the run (pids are reused). No row: the
-- process is gone. backend_start is hidden from roles without pg_read_all_stats.
select pg_cancel_backend(a.pid) as cancelled
from pg_stat_activity a
where a.pid = %(pid)s::int
  and a.usename = %(username)s::text
  and a.datname = %(database)s::text
  and (a.backend_start is null or %(start)s::timestamptz is null
       or a.backend_start <= %(start)s::timestamptz)
