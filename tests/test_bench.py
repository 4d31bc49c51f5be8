"""`cronjobs-tui bench --quick` end to end: a throwaway cluster, the table printed in full.

No figure is asserted (tests never assert on time): only that every row is there."""

from __future__ import annotations

import subprocess
import sys


def test_bench_quick_prints_the_whole_table() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "tui", "bench", "--quick", "--jobs", "60", "--runs", "1000,5000"],
        capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    for label in ["load (s) / index build (s)", "ours: facts (ms)", "ours: jobs_changes (ms)",
                  "ours: runs_after (ms)", "ours: runs_by_ids (ms)", "OURS: steady refresh (ms)",
                  "ours: jobs full, indexed (ms)", "ours: refresh amortized (ms)",
                  "ours: usual lag/duration, once a minute (ms)",
                  "ours, no index: steady refresh (ms)",
                  "ours, no index: jobs full look-back (ms)",
                  "naive: recent 100 by start_time (ms)",
                  "naive: DISTINCT ON latest per job (ms)",
                  "naive: row_number() CTE latest per job (ms)",
                  "NAIVE: refresh (recent + DISTINCT ON) (ms)", "naive / ours (steady)",
                  "growth of our steady refresh 1,000 -> 5,000:", "naive / ours at 5,000:",
                  "first complete screen", "cold starts", "idle CPU", "RSS before streaming",
                  "RSS after",
                  "key down", "key o (sort)", "key pagedown", "key filter: 9",
                  "key filter cleared (Esc)", "Line API", "DataTable"]:
        assert label in out, f"{label!r} missing from:\n{out}"
    assert "H=1,000" in out and "H=5,000" in out
