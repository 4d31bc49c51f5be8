-- These runs marked failed, each only if it is orphaned now, judged in this very statement
-- by the facts tui/rules.py's is_orphaned reads (the fragments: tui/db/queries.py): its row
-- older than the server's start ('connecting'/'sending' only), or its backend known gone
-- (`is false`: null, not visible or not applicable, is no verdict). A run that finished
-- meanwhile, or whose state cannot be told, is left alone.
update cron.job_run_details d
set status = 'failed',
    end_time = now(),
    return_message = 'marked failed by ' || current_user || ' with cronjobs-tui: '
        || case when {run_before_server_start} then 'its row is older than the server''s start'
                else 'its backend (pid ' || d.job_pid || ') is gone' end
        || ', nobody would finish it'
where d.runid = any(%(ids)s::bigint[])
  and ({run_before_server_start} or ({run_pid_alive}) is false)
returning d.runid
