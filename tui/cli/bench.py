"""`cronjobs-tui bench`: the scale benchmark (benchmarks/scale.py) in a throwaway cluster,
`--latency` for what the operator waits for through a 30 ms round trip (benchmarks/latency.py),
or `--mask` for the cost of masking secrets alone (benchmarks/mask.py); from a checkout only."""

from __future__ import annotations

import argparse
import re
import sys
import time
from typing import Any

from tui.cli import types
from tui.cli.checkout import use_benchmarks
from tui.cli.options import log_option
from tui.cli.output import OK


def register(sub: Any, conn: argparse.ArgumentParser) -> None:
    bench = sub.add_parser("bench", add_help=False,
                           help="measure what the idle app costs the server (from "
                                "pg_stat_statements) and the app at scale, in a throwaway cluster")
    bench.add_argument("--jobs", type=types.whole(1, MAX_JOBS), default=None,
                       help=f"jobs, 1-{MAX_JOBS} (default 10000; --latency: 1000)")
    bench.add_argument("--runs", type=_sizes, default=None, metavar="H,H,...",
                       help="history sizes, each 1-100000000 (default "
                            "100000,1000000,10000000; --latency: 100000, the largest given)")
    bench.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    bench.add_argument("--idle", type=types.seconds(0, 3600, above=True), default=60.0,
                       help="seconds of idle measured: the server's idle window and the "
                            "app's CPU (a whole minute: cron jobs start on it)")
    bench.add_argument("--stream", type=types.whole(1, 100_000_000), default=1_000_000,
                       help="new runs streamed for the memory figure")
    bench.add_argument("--fleet", action="store_true",
                       help="only what watch costs: a pass over 1, 10 and 40 profiles (time, "
                            "memory, connections; one profile slow), and a steady pass's "
                            "server time at --jobs jobs and the first --runs size (default "
                            "100000)")
    bench.add_argument("--latency", action="store_true",
                       help="the app and the headless subcommands, direct and through a proxy "
                            "adding a 30 ms round trip: times, exchanges, round trips waited")
    bench.add_argument("--mask", action="store_true",
                       help="only the cost of masking secrets, on ordinary and hostile "
                            "commands up to 1 MB, against the old implementation")
    log_option(bench, suppress=True)
    bench.add_argument("--help", action="help")
    bench.set_defaults(handler=cmd_bench)


MAX_JOBS = 100_000
MAX_RUNS = 100_000_000


def _sizes(text: str) -> list[int]:
    """History sizes: whole numbers, `_` between digits and 1e6 allowed, comma-separated."""
    sizes = set()
    for part in text.split(","):
        raw = part.strip().replace("_", "")
        if not re.fullmatch(r"[0-9]+(e[0-9]{1,2})?", raw, re.IGNORECASE):
            raise types.Refused(f"{types.shown(part)} is not a whole number; accepted: "
                                f"sizes 1 to {MAX_RUNS:,} separated by commas (1e6 allowed)")
        size = int(float(raw)) if "e" in raw.lower() else int(raw)
        if not 1 <= size <= MAX_RUNS:
            raise types.Refused(f"{size} is out of range; accepted: sizes 1 to {MAX_RUNS:,}")
        sizes.add(size)
    return sorted(sizes)


def cmd_bench(args: argparse.Namespace) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    use_benchmarks()
    if args.mask:  # no cluster needed: mask() alone
        from benchmarks import mask as bench_mask

        return bench_mask.main(args)
    if args.fleet:
        return _fleet(args, log)
    if args.latency:
        return _latency(args, log)
    from benchmarks.scale import report, run

    if args.quick:
        jobs, sizes, idle_s, stream = args.jobs or 200, args.runs or [2000, 20000], 3.0, 5000
    else:
        jobs = args.jobs or 10_000
        sizes = args.runs or [100_000, 1_000_000, 10_000_000]
        idle_s, stream = args.idle, args.stream
    t0 = time.perf_counter()
    stages, app, _ = run(jobs, sizes, quick=args.quick, idle_s=idle_s, stream_runs=stream,
                         log=log)
    print(report(jobs, stages, app))
    print(f"(bench took {time.perf_counter() - t0:.0f} s)")
    return OK


def _fleet(args: argparse.Namespace, log: Any) -> int:
    from benchmarks import fleet

    t0 = time.perf_counter()
    if args.quick:
        near, far, slow = fleet.run_fleet(sizes=(1, 4), clusters=2, jobs=20, runs=2000,
                                          passes=2, log=log)
        server = fleet.run_server(jobs=args.jobs or 200, runs=(args.runs or [2000])[0],
                                  passes=2, interval_s=2, log=log)
    else:
        near, far, slow = fleet.run_fleet(log=log)
        server = fleet.run_server(jobs=args.jobs or 10_000, runs=(args.runs or [100_000])[0],
                                  passes=fleet.PASSES, interval_s=10, log=log)
    print(fleet.report(near, far, slow, server))
    print(f"(bench took {time.perf_counter() - t0:.0f} s)")
    return OK


def _latency(args: argparse.Namespace, log: Any) -> int:
    from benchmarks.latency import report, run

    if args.quick:
        jobs, runs = args.jobs or 100, max(args.runs or [5000])
    else:
        jobs, runs = args.jobs or 1000, max(args.runs or [100_000])
    t0 = time.perf_counter()
    print(report(run(jobs, runs, quick=args.quick, log=log)))
    print(f"(bench took {time.perf_counter() - t0:.0f} s)")
    return OK
