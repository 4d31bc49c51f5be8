-- How far a CREATE INDEX has got (PostgreSQL 12+): blocks while scanning the table,
-- tuples while loading the tree; the lockers it waits for in the "waiting" phases.
select
    p.phase,
    case when p.blocks_total > 0 then p.blocks_done
         when p.tuples_total > 0 then p.tuples_done
         else p.lockers_done end as done,
    case when p.blocks_total > 0 then p.blocks_total
         when p.tuples_total > 0 then p.tuples_total
         else p.lockers_total end as total
from pg_stat_progress_create_index p
where p.pid = %(pid)s
