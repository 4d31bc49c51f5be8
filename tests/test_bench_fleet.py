"""`python -m benchmarks --fleet --quick`: the fleet's and the watch's figures, in throwaway
clusters. No figure is asserted (tests never assert on time): only that every line is there,
that the fleet's watch held one connection per profile, and that a steady pass is five
statements (BEGIN, the limits, the markers, the runs, COMMIT)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NO_SERVER

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(bool(NO_SERVER), reason=NO_SERVER)
def test_bench_fleet_quick_prints_every_figure() -> None:
    done = subprocess.run([sys.executable, "-m", "benchmarks", "--fleet", "--quick"],
                          capture_output=True, text=True, timeout=900, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for label in ["watch --fleet, local servers", "watch --fleet, each profile 30 ms away",
                  "steady pass 4/1:", "target <= 3x", "one of 4 profiles 0.5 s away: pass",
                  "the others' slowest read", "a steady watch pass's server time at 200 jobs",
                  "target <= 10 ms", "its wall time here", "first pass (everything read",
                  "facts read again (every 15 min)", "amortized at --interval 30"]:
        assert label in out, f"{label!r} missing from:\n{out}"
    rows = re.findall(r"^\s+(\d+)\s+\d+ms\s+[\d.]+ms\s+[\d.]+ms\s+\d+\s+(\d+)$", out, re.M)
    assert sorted(rows) == sorted([("1", "1"), ("4", "4")] * 2), out
    # BEGIN, the limits, the markers, the new runs, COMMIT; and the runs seen unfinished
    # when some were (pg_cron runs the bench's jobs meanwhile): one round trip either way.
    assert re.search(r"steady pass [\d.]+ ms \([56] statements\)", out), out
