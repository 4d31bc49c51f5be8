"""Our schedule verdicts against the real server's, on every pg_cron version the suite runs.

``tui.cron.check`` claims to say what pg_cron would say. The only exact judge is pg_cron itself:
``cron.schedule(name, expr, 'select 1')`` in a transaction that is rolled back. Hypothesis feeds
both the same near-valid expressions (``tests.cron.strategies.expressions``) and expects the same
verdict, and, when the server refuses, the same message (``invalid schedule: <expr>``).

One sync connection per version and one short transaction per example keep this at a few
milliseconds an example. The run is deterministic (derandomized, no example database);
``CRONJOBS_TUI_HYPOTHESIS_EXAMPLES`` changes how many examples each version gets.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator

import psycopg
import pytest
from hypothesis import HealthCheck, example, given, settings

from tests.conftest import Cluster
from tests.cron.strategies import expressions
from tui.cron import check

EXAMPLES = int(os.environ.get("CRONJOBS_TUI_HYPOTHESIS_EXAMPLES", "3000"))
INVALID_PARAMETER = "22023"
NAME = "cronjobs-tui-differential"

# Cases PG_CRON.md names, checked on every run whatever Hypothesis draws.
KNOWN = (
    "5 4 * * *",
    "*/60 * * * *",
    "5/15 * * * *",
    "0 25 * * *",
    "0 12 * * * 30",
    "0 0 * * MON#1",
    "0 0 * * SAT-SUN",
    "0 0 $ * *",
    "0 0 $,1 * *",
    "30 seconds",
    "59 Seconds",
    "60 seconds",
    "0 seconds",
    "5 second ",
    "5seconds",
    "+5 seconds",
    "@daily",
    "@DAILY",
    "@reboot",
    "@restart x",
    "",
    " ",
    "# just a comment",
    "0 0 * * 7",
    "0 0 * JAN-MAR MON-FRI",
    "4294967301 * * * *",
    "*/2147483647 * * * *",
    "1-5/0 * * * *",
    "x" * 999,
    "5 seconds" + " " * 995,
    "0 0 1 1 *" + " " * 995,
)


class ServerJudge:
    """pg_cron's verdict on one connection: a transaction per question, always rolled back."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self.asked = 0
        self.seconds = 0.0

    def verdict(self, expr: str) -> str | None:
        """None when the server accepts ``expr``, else its primary message."""
        started = time.perf_counter()
        self.asked += 1
        try:
            self.conn.execute("select cron.schedule(%s::text, %s::text, 'select 1')",
                              [NAME, expr])
        except psycopg.Error as exc:
            if exc.sqlstate != INVALID_PARAMETER:
                raise
            return exc.diag.message_primary or str(exc)
        finally:
            self.conn.rollback()
            self.seconds += time.perf_counter() - started
        return None


@pytest.fixture(scope="module")
def judge(cluster: Cluster) -> Iterator[ServerJudge]:
    with psycopg.connect(cluster.conninfo, autocommit=False) as conn:
        j = ServerJudge(conn)
        yield j
        # Shown with -s or -rA: how long the server took, for the budget in the brief.
        print(f"\n[differential pg_cron {cluster.pg_cron}] {j.asked} schedules asked "
              f"in {j.seconds:.1f} s")
        # Nothing was ever committed: the job table holds no trace of the run.
        leftover = conn.execute("select count(*) from cron.job where jobname = %s",
                                [NAME]).fetchone()
        conn.rollback()
        assert leftover == (0,)


def _compare(judge: ServerJudge, expr: str, version: str) -> None:
    server = judge.verdict(expr)
    ours = check(expr, version)
    assert ours.valid == (server is None), (
        f"pg_cron {version} {'accepts' if server is None else 'rejects'} {expr!r}; "
        f"tui.cron.check says {'valid' if ours.valid else 'invalid'} "
        f"(hint: {ours.hint!r}, warnings: {ours.warnings!r})"
    )
    if server is not None:
        assert server == f"invalid schedule: {expr}"
        assert ours.error == server


@pytest.mark.parametrize("expr", KNOWN, ids=lambda e: repr(e[:30]))
def test_known_cases_match_the_server(judge: ServerJudge, cluster: Cluster, expr: str) -> None:
    _compare(judge, expr, cluster.pg_cron)


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(expr=expressions)
@example(expr="*/60 * * * *")
@example(expr="30 seconds")
@example(expr="0 0 $ * *")
def test_verdict_matches_the_server(judge: ServerJudge, cluster: Cluster, expr: str) -> None:
    _compare(judge, expr, cluster.pg_cron)
