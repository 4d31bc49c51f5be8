-- Sixty days of made-up usage for a dozen users, added once. Mostly text-to-speech requests
-- (some failed, with no characters), with page extractions and sign-ins among them: the
-- rollup counts only the TTS_REQUEST characters, so monthly_usage shows less than the sum.
insert into public.usage_events (user_id, event_type, characters_processed, "timestamp")
select
    ('00000000-0000-4000-8000-' || lpad(to_hex(1 + (n % 12)), 12, '0'))::uuid,
    kind,
    case
        when kind = 'SIGN_IN' then 0
        when kind = 'TTS_REQUEST' and n % 23 = 0 then 0  -- a request that failed
        else 50 + (n * 7919) % 4000
    end,
    now() - (n % 60) * interval '1 day' - ((n * 37) % 86400) * interval '1 second'
from generate_series(1, 6000) as n,
     lateral (select (array['TTS_REQUEST', 'TTS_REQUEST', 'PAGE_EXTRACTION', 'TTS_REQUEST',
                            'SIGN_IN'])[1 + (n % 5)] as kind) as k
where not exists (select 1 from public.usage_events);
