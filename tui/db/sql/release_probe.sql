-- Does this pg_cron accept each of these schedules (tui/db/release.py)? All asked in one
-- statement, so in one round trip. For each: what cron.alter_job(-1, schedule) answered
-- (it parses the schedule before it looks for the job, and job -1 never exists, so it writes
-- nothing), or, when this role may not call it (pg_cron revokes EXECUTE from PUBLIC), what
-- cron.schedule answered: its insert is undone by the exception raised after it, and the
-- whole transaction is rolled back too. A DO block returns no rows: the answers are left in a
-- setting of this transaction, which release_probe_answers.sql reads.
do $probe$
declare
    probe text;
    answer json;
    answers json[] := '{}';
begin
    foreach probe in array array['5 seconds', '0 0 $ * *', '*/60 * * * *'] loop
        begin
            perform cron.alter_job(-1, schedule := probe);
            answer := json_build_object('how', 'alter', 'state', '00000', 'message', '');
        exception when others then
            answer := json_build_object('how', 'alter', 'state', sqlstate, 'message', sqlerrm);
        end;
        if answer->>'state' = '42501' then
            begin
                perform cron.schedule(probe, 'select 1');
                raise exception using errcode = 'P0001', message = 'cronjobs-tui: accepted';
            exception when others then
                answer := json_build_object(
                    'how', 'schedule',
                    'state', case when sqlerrm = 'cronjobs-tui: accepted' then '00000'
                                  else sqlstate end,
                    'message', sqlerrm);
            end;
        end if;
        answers := answers || answer;
    end loop;
    perform set_config('cronjobs_tui.release_probe', array_to_json(answers)::text, true);
end
$probe$
