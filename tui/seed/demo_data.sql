-- Sixty days of made-up usage for a dozen users, added once.
insert into public.usage_events (user_id, event_type, characters_processed, "timestamp")
select
    ('00000000-0000-4000-8000-' || lpad(to_hex(1 + (n % 12)), 12, '0'))::uuid,
    (array['translate', 'summarise', 'transcribe', 'adapt'])[1 + (n % 4)],
    50 + (n * 7919) % 4000,
    now() - (n % 60) * interval '1 day' - ((n * 37) % 86400) * interval '1 second'
from generate_series(1, 6000) as n
where not exists (select 1 from public.usage_events);
