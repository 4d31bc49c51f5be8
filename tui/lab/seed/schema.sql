-- The seed's usage-accounting schema, as cronjobs-tui's demo and tests install it.
-- Idempotent: safe to run again on a database that already has it.

create table if not exists public.usage_events (
    id bigint generated always as identity primary key,
    user_id uuid not null,
    event_type text not null,
    characters_processed integer not null check (characters_processed >= 0),
    "timestamp" timestamptz not null default now()
);

-- Fix: the seed asked for these indexes but never created them. The rollup reads one
-- month of events by time; per-user reports read one user's events by time.
create index if not exists usage_events_timestamp_idx on public.usage_events ("timestamp");
create index if not exists usage_events_user_timestamp_idx
    on public.usage_events (user_id, "timestamp");

create table if not exists public.monthly_usage (
    user_id uuid not null,
    month_start_date date not null,
    total_characters_processed bigint not null default 0,
    last_updated timestamptz not null default now(),
    primary key (user_id, month_start_date)
);

-- Reconciles the month that contains p_day, counting events up to the end of p_day (UTC).
-- What it counts is the seed's: text-to-speech usage only, event_type 'TTS_REQUEST' with
-- characters_processed > 0. Like the seed's, it logs its start and its end (RAISE LOG: the
-- server log, or a session with client_min_messages = log), with the day and the number of
-- users updated.
--
-- Fixes to the seed's version, which this replaces:
-- 1. The seed's window ended at "midnight - 1 second" compared with <=, so events in the
--    last second of a day (23:59:59.5) were never counted. The window is now half-open:
--    [month start, next midnight).
-- 2. The seed added the day's sum to the stored total, so a second run for the same day
--    (a retry, a manual trigger) counted that day twice. It now recomputes the month's
--    totals from the events and sets them: running it again changes nothing.
-- 3. SECURITY DEFINER without SET search_path let a caller put their own objects ahead of
--    ours (a fake usage_events or sum()); the search_path is now pinned.
-- The seed's day came from now() in the session's time zone; it is UTC here, and p_day
-- lets a missed day be rolled up later.
create or replace function public.rollup_daily_usage(
    p_day date default ((now() at time zone 'UTC')::date - 1)
)
returns void
language plpgsql
security definer
set search_path = pg_catalog, public
as $$
declare
    v_month date := date_trunc('month', p_day)::date;
    v_from timestamptz := v_month::timestamp at time zone 'UTC';
    v_to timestamptz := (p_day + 1)::timestamp at time zone 'UTC';
    v_users bigint;
begin
    raise log 'Starting daily usage rollup for %', p_day;

    insert into public.monthly_usage as m
        (user_id, month_start_date, total_characters_processed, last_updated)
    select e.user_id, v_month, sum(e.characters_processed), now()
    from public.usage_events e
    where e."timestamp" >= v_from and e."timestamp" < v_to
      and e.characters_processed > 0
      and e.event_type = 'TTS_REQUEST'
    group by e.user_id
    on conflict (user_id, month_start_date) do update
        set total_characters_processed = excluded.total_characters_processed,
            last_updated = excluded.last_updated;
    get diagnostics v_users = row_count;

    raise log 'Finished daily usage rollup for %: % users updated.', p_day, v_users;
end
$$;

revoke execute on function public.rollup_daily_usage(date) from public;
