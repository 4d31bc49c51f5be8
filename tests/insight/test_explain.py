"""`explain` names each cause, from history written into a real cron.job_run_details.

The rows are inserted as pg_cron writes them (runid from cron.runid_seq, the job's command,
status and message as pg_cron words them); the scheduler's evidence (its start, the server's,
cron.max_running_jobs) is the real server's. Times are laid out on a grid a few hours back, so
nothing depends on the wall clock but "before now".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.conftest import Cluster, start_cluster
from tui.audit import AuditLog
from tui.audit import default_path as audit_path
from tui.cli import main
from tui.insight.explain import Evidence, RunRow, explain, pauses_from_audit, sentence
from tui.insight.explain import last_trouble as last_trouble_of

INVOICES = ("nightly-invoice-sync", "*/10 * * * *",
            "SELECT billing.sync_invoices(p_since => now() - interval '1 day')")
MATVIEW = ("refresh-matview-sales", "0 0 1 1 *",
           "REFRESH MATERIALIZED VIEW CONCURRENTLY reporting.sales_by_day")
VACUUM = ("vacuum-events", "0 0 1 1 *", "VACUUM (ANALYZE) public.events")
PROBE = ("heartbeat-probe", "0 0 1 1 *", "SELECT 1")
#: A failure as libpq words it, with the DSN (and its password) the job's dblink used.
SECRET = "Zq8vTt3pLw1x"
FAILURE = ("ERROR:  could not establish connection\nDETAIL:  connection to server at "
           f"\"10.0.3.7\", port 5432 failed: postgresql://billing:{SECRET}@10.0.3.7/ledger")


def insert_run(conn: Any, jobid: int, start: datetime, end: datetime | None, status: str,
               message: str) -> int:
    return conn.execute(
        "insert into cron.job_run_details (jobid, runid, job_pid, database, username, command, "
        "status, return_message, start_time, end_time) "
        "select jobid, nextval('cron.runid_seq'), 4242, database, username, command, %s, %s, "
        "%s, %s from cron.job where jobid = %s returning runid",
        [status, message, start, end, jobid]).fetchone()[0]


@pytest.fixture(scope="module")
def history(cluster: Cluster) -> Iterator[dict[str, Any]]:
    """A cluster of its own with cron.max_running_jobs = 2 and the grid of runs."""
    c = start_cluster(cluster.sandbox.install, **{"cron.max_running_jobs": "2"})
    with c.connect() as conn:
        ids = {name: conn.execute("select cron.schedule(%s, %s, %s)",
                                  [name, sched, cmd]).fetchone()[0]
               for name, sched, cmd in (INVOICES, MATVIEW, VACUUM, PROBE)}
        base = conn.execute("select date_trunc('hour', now()) - interval '4 hours'"
                            ).fetchone()[0]

        def at(minutes: float) -> datetime:
            return base + timedelta(minutes=minutes)

        held: list[int] = []
        # The oldest run kept: before it, history was purged.
        insert_run(conn, ids["heartbeat-probe"], at(-55), at(-54.99), "succeeded", "1 row")
        inv = ids["nightly-invoice-sync"]
        for k in range(12):
            slot = 10 * k
            if k in (8, 9):
                continue  # paused (the audit log below)
            if k == 3:  # overruns its interval by four minutes
                insert_run(conn, inv, at(slot + 0.01), at(44), "succeeded", "1 row")
            elif k == 4:  # waited for the run above
                insert_run(conn, inv, at(44) + timedelta(seconds=0.9), at(44.05), "succeeded",
                           "1 row")
            elif k == 5:  # both slots of max_running_jobs taken by two long runs
                held.append(insert_run(conn, ids["refresh-matview-sales"],
                                       at(49.97), at(56), "succeeded", "REFRESH MATERIALIZED VIEW"))
                held.append(insert_run(conn, ids["vacuum-events"], at(49.98),
                                       at(56) + timedelta(seconds=0.4), "succeeded", "VACUUM"))
                insert_run(conn, inv, at(56) + timedelta(seconds=1), at(56.2), "succeeded",
                           "1 row")
            elif k == 6:
                insert_run(conn, inv, at(slot + 0.01), at(slot + 0.02), "failed", FAILURE)
            else:
                insert_run(conn, inv, at(slot) + timedelta(seconds=0.4), at(slot + 0.5),
                           "succeeded", "1 row")
        addr, port, db = conn.execute("select host(inet_server_addr()), inet_server_port(), "
                                      "current_database()").fetchone()
    # The app's audit log says the job was paused at +75 and resumed at +95.
    log = AuditLog(audit_path())
    for action, minute in (("pause", 75), ("resume", 95)):
        entry = log.record(action, server=f"{addr}:{port}/{db}", role="postgres",
                           job=INVOICES[0])
        entry["at"] = at(minute).isoformat()
        lines = log.path.read_text().splitlines()[:-1] + [json.dumps(entry)]
        log.path.write_text("\n".join(lines) + "\n")
    yield {"cluster": c, "base": base, "at": at, "held": held}
    c.sandbox.destroy()


def explain_json(c: Cluster, since: datetime) -> dict[str, dict[str, Any]]:
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["explain", INVOICES[0], "-d", c.conninfo, "--since", since.isoformat(),
                     "--json"]) == 0
    rows = json.loads(out.getvalue())
    assert rows and set(rows[0]) == {"scheduled", "outcome", "reason", "runid", "lag_s",
                                     "duration_s", "missed", "problem"}
    return {r["scheduled"]: r for r in rows}


def test_explain_names_each_cause(history: dict[str, Any]) -> None:
    at = history["at"]
    by = explain_json(history["cluster"], at(-70))

    def slot(minutes: float) -> dict[str, Any]:
        return by[at(minutes).isoformat()]

    assert slot(-60)["outcome"] == "unknown" and "history purged" in slot(-60)["reason"]
    for m in (-50, -40, -30, -20, -10):
        assert slot(m)["outcome"] == "not_created", slot(m)
    assert slot(0)["outcome"] == "ran" and slot(0)["lag_s"] == pytest.approx(0.4)
    assert slot(0)["duration_s"] == pytest.approx(29.6)
    # The overrun itself ran on time; the next time waited for it.
    assert slot(30)["outcome"] == "ran" and slot(30)["duration_s"] > 600
    assert slot(40)["outcome"] == "late", slot(40)
    assert "its own previous run" in slot(40)["reason"]
    assert slot(40)["lag_s"] == pytest.approx(240.9)
    assert slot(50)["outcome"] == "late", slot(50)
    assert "cron.max_running_jobs = 2" in slot(50)["reason"]
    for runid in history["held"]:
        assert str(runid) in slot(50)["reason"]
    assert slot(60)["outcome"] == "failed"
    assert "could not establish connection" in slot(60)["reason"]
    assert SECRET not in json.dumps(by)
    for m in (80, 90):
        assert slot(m)["outcome"] == "inactive" and "audit log" in slot(m)["reason"], slot(m)
    assert slot(100)["outcome"] == "ran" and slot(110)["outcome"] == "ran"
    # Nothing ran after +110 until this cluster started: the server was (re)started since.
    assert slot(120)["outcome"] == "scheduler_down"
    assert "server restarted" in slot(120)["reason"]


def test_table_output_is_inert_and_masked(history: dict[str, Any],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    at = history["at"]
    assert main(["explain", INVOICES[0], "-d", history["cluster"].conninfo,
                 "--since", at(-5).isoformat()]) == 0
    out = capsys.readouterr().out
    assert "late" in out and "failed" in out and SECRET not in out
    assert "\x1b" not in out


def test_unknown_job_and_naive_since(history: dict[str, Any],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    c = history["cluster"]
    assert main(["explain", "no-such-job", "-d", c.conninfo]) == 2
    assert "no job named" in capsys.readouterr().err
    # Without an offset: in the scheduler's zone (UTC here: 1.4's, and 1.6's default GMT).
    naive = history["at"](-5).astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    assert main(["explain", INVOICES[0], "-d", c.conninfo, "--since", naive, "--all"]) == 0
    out = capsys.readouterr().out
    assert "--since: a time without an offset, read in the scheduler's zone" in out
    assert "late" in out
    assert main(["explain", INVOICES[0], "-d", c.conninfo, "--since", "2999-01-01"]) == 2
    assert "in the future" in capsys.readouterr().err


# -- the pure matcher, on rows shaped as the server returns them -------------------------------

def _ev(now: datetime, **kw: Any) -> Evidence:
    base: dict[str, Any] = {"now": now, "launcher_start": now - timedelta(days=30),
                            "launcher_known": True,
                            "postmaster_start": now - timedelta(days=30), "in_recovery": False,
                            "max_running_jobs": 32, "oldest_start": now - timedelta(days=40),
                            "read_back_to": None}
    base.update(kw)
    return Evidence(**base)


def test_standby_launcher_and_unknown_without_evidence() -> None:
    from datetime import timezone

    now = datetime(2026, 3, 29, 12, 0, tzinfo=timezone.utc)
    slots = [now - timedelta(minutes=m) for m in (30, 20, 10)]
    runs = [RunRow(7, 3, "succeeded", slots[0] + timedelta(seconds=1),
                   slots[0] + timedelta(seconds=2))]
    # The launcher came back after the last two times, nothing started in between.
    out = explain(slots, runs, runs, _ev(now, launcher_start=now - timedelta(minutes=5)))
    assert [o.outcome for o in out] == ["ran", "scheduler_down", "scheduler_down"]
    assert "launcher started" in out[1].reason
    out = explain(slots, runs, runs, _ev(now, in_recovery=True))
    assert [o.outcome for o in out][1:] == ["standby", "standby"]
    out = explain(slots, runs, runs, _ev(now, launcher_known=False, max_running_jobs=None))
    assert out[2].outcome == "unknown"
    assert "pg_read_all_stats" in out[2].reason and "pg_read_all_settings" in out[2].reason
    last = last_trouble_of(out)
    assert last is not None and last.scheduled == slots[2]
    assert sentence(last, "UTC").startswith("Last missed or late: 2026-03-29 11:50 UTC")


def test_queued_behind_its_run_only_while_a_scheduler_queues_it() -> None:
    now = datetime(2026, 3, 29, 12, 0, tzinfo=timezone.utc)
    slots = [now - timedelta(minutes=m) for m in (3, 2)]
    # Its run of the first time is still 'running' (the row says so: no end recorded).
    runs = [RunRow(7, 3, "running", slots[0] + timedelta(seconds=1), None)]
    out = explain(slots, runs, runs, _ev(now))
    assert [o.outcome for o in out] == ["running", "queued"] and out[1].held_by == (7,)
    # The launcher gone since: it forgot the waiting time and no run of the job started.
    out = explain(slots, runs, runs, _ev(now, launcher_start=None))
    assert [o.outcome for o in out] == ["running", "scheduler_down"]
    assert "launcher is not running" in out[1].reason
    # A server restart after the time: forgotten as well.
    out = explain(slots, runs, runs, _ev(now, postmaster_start=now - timedelta(seconds=30),
                                         launcher_start=now - timedelta(seconds=29)))
    assert [o.outcome for o in out][1:] == ["scheduler_down"]
    assert "server restarted" in out[1].reason


def test_pauses_from_audit_pair_pause_and_resume() -> None:
    from datetime import timezone

    t = datetime(2026, 3, 1, tzinfo=timezone.utc)
    entries = [{"at": (t + timedelta(hours=h)).isoformat(), "job": "j", "action": a,
                "outcome": "ok", "server": "s"} for h, a in
               ((0, "create"), (1, "pause"), (2, "resume"), (3, "pause"))]
    entries.append({"at": t.isoformat(), "job": "j", "action": "pause", "outcome": "error",
                    "server": "s"})
    spans, created = pauses_from_audit(entries, "j", "s")
    assert created == t
    assert spans == ((t + timedelta(hours=1), t + timedelta(hours=2)),
                     (t + timedelta(hours=3), None))
    assert pauses_from_audit(entries, "j", "other-server") == ((), None)


async def test_detail_view_says_the_last_missed_or_late_run(history: dict[str, Any]) -> None:
    from textual.widgets import Static

    from tests.ui.conftest import running_app, select_job, wait_for
    from tui.ui.screens.detail import JobDetailScreen

    async with running_app(history["cluster"]) as (app, pilot):
        await select_job(app, pilot, INVOICES[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen))
        widget = app.screen.query_one("#insight", Static)
        await wait_for(pilot, lambda: widget.display)
        text = str(widget.render())
        assert text.startswith("Last missed or late: "), text
        assert SECRET not in text
        await pilot.press("escape")
        # A job with no time in the last day has nothing to say: the line stays hidden.
        await select_job(app, pilot, PROBE[0])
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, JobDetailScreen)
                       and app.screen.job.jobname == PROBE[0])
        await pilot.pause(1)
        assert not app.screen.query_one("#insight", Static).display


async def test_on_a_standby(cluster: Cluster, standby: Any) -> None:
    """The primary's history replicates to a standby, which runs nothing itself: a time with
    no run there is the primary's to explain."""
    from tui.db import ConnectOptions, Database
    from tui.insight.gather import explain_job

    name = "standby-explained-rollup"
    with cluster.connect() as conn:
        jobid = conn.execute("select cron.schedule(%s, '*/10 * * * *', 'SELECT 1')",
                             [name]).fetchone()[0]
        base = conn.execute("select date_trunc('hour', now()) - interval '3 hours'"
                            ).fetchone()[0]
        runids = [insert_run(conn, jobid, base + timedelta(minutes=10 * k, seconds=0.3),
                             base + timedelta(minutes=10 * k, seconds=1), "succeeded", "1 row")
                  for k in range(6) if k != 3]
    try:
        standby.wait_for("select exists (select 1 from cron.job_run_details where runid = %s)",
                         [runids[-1]])
        db = Database(ConnectOptions(dbname=standby.conninfo))
        try:
            facts = await db.facts()
            job = next(j for j in await db.jobs(indexed=False) if j.jobid == jobid)
            result = await explain_job(db, facts, job, base - timedelta(seconds=1), [])
        finally:
            await db.close()
        by = {o.scheduled: o for o in result.outcomes}
        assert by[base].outcome == "ran" and by[base].runid == runids[0]
        missing = by[base + timedelta(minutes=30)]
        assert missing.outcome == "standby" and "primary" in missing.reason
    finally:
        with cluster.connect() as conn:
            conn.execute("delete from cron.job_run_details where runid = any(%s)", [runids])
            conn.execute("select cron.unschedule(%s)", [jobid])
