-- An HTTP job's pg_net arguments, evaluated as pg_net would see them: the job's own SQL,
-- each expression on lines of its own (a trailing -- comment in one ends there).
select (
{url}
)::text as url, (
{headers}
)::jsonb as headers, (
{body}
)::jsonb as body, (
{params}
)::jsonb as params, (
{timeout}
)::int as timeout_ms
