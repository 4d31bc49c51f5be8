-- Which schedules this pg_cron accepts (tui/db/release.py), all asked in one statement, so
-- the whole probe is one round trip. Each question is a block of its own that always ends in
-- an error, which rolls back whatever it did (the block is a subtransaction); the error's
-- SQLSTATE is the answer. CJ000 is ours: "no error", raised to roll back. As in
-- release.py's step-by-step probe: cron.alter_job(-1, ...) parses the schedule and then finds
-- no job -1; without EXECUTE on it (or where it parses nothing: a standby), cron.schedule.
-- The answers, `via:sqlstate:missing-job;...`, are left in a transaction-local setting for
-- release_probe_answers.sql.
do $probe$
declare
    answers text[] := '{}';
    probe text;
    via text := 'alter';
    state text;
    message text;
begin
    foreach probe in array array['5 seconds', '0 0 $ * *', '*/60 * * * *'] loop
        if via = 'alter' then
            begin
                perform cron.alter_job(-1, schedule := probe);
                raise exception using errcode = 'CJ000', message = 'no error';
            exception when others then
                get stacked diagnostics state = returned_sqlstate, message = message_text;
            end;
            if state in ('42501', 'CJ000') then
                via := 'schedule';
            else
                -- Doubled: the file goes out with parameters, and psycopg reads one as theirs.
                answers := answers || ('alter:' || state || ':'
                                       || (message like '%%does not exist%%')::text);
            end if;
        end if;
        if via = 'schedule' then
            begin
                perform cron.schedule(probe, 'select 1');
                raise exception using errcode = 'CJ000', message = 'no error';
            exception when others then
                get stacked diagnostics state = returned_sqlstate;
            end;
            answers := answers || ('schedule:' || state || ':false');
        end if;
    end loop;
    perform set_config('cronjobs_tui.release_probe', array_to_string(answers, ';'), true);
end
$probe$
