"""The benchmarks (benchmarks/, beside the package) end to end: `python -m benchmarks --quick`
in a throwaway cluster, and `cronjobs-tui bench --mask --quick` from the checkout.

No figure is asserted (tests never assert on time): only that every row is there."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.mask import CASES
from tests.conftest import NO_SERVER

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(bool(NO_SERVER), reason=NO_SERVER)
def test_bench_quick_prints_the_whole_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--jobs", "60", "--runs", "1000,5000"],
        capture_output=True, text=True, timeout=600, check=False, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for label in ["load (s) / index build (s)", "STEADY REFRESH: server time (ms)",
                  "statements", "through a pooler: server time (ms)",
                  "through a pooler: round trips (exchanges)", "round trips waited at 30 ms RTT",
                  "IDLE MINUTE: server time, everything (ms)",
                  "of it the usual figures' read (ms)", "of it the jobs' full read (ms)",
                  "measured over (s / refreshes / usual reads)",
                  "naive: recent 100 by start_time (ms)",
                  "naive: DISTINCT ON latest per job (ms)",
                  "naive: row_number() CTE latest per job (ms)",
                  "NAIVE: refresh (recent + DISTINCT ON) (ms)", "naive / our steady refresh",
                  "growth 1,000 -> 5,000: steady refresh", "an idle minute's statements",
                  "first complete screen", "cold starts", "idle CPU", "RSS before streaming",
                  "RSS after",
                  "key down", "key o (sort)", "key pagedown", "key filter: 9",
                  "key filter cleared (Esc)", "measured", "target"]:
        assert label in out, f"{label!r} missing from:\n{out}"
    assert "H=1,000" in out and "H=5,000" in out


@pytest.mark.smoke  # bench
def test_bench_mask_from_the_checkout_from_another_folder(tmp_path: Path) -> None:
    """The command, run from anywhere with the checkout's package, finds the checkout's
    benchmarks (an installed wheel has none: tests/test_install.py)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tui", "bench", "--mask", "--quick"],
                          capture_output=True, text=True, timeout=300, check=False,
                          cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert "old/new" in lines[1] and "new 100 KB" in lines[1]
    assert [line.split("  ")[0] for line in lines[2:]] == list(CASES)
