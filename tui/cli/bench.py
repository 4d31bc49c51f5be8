"""`cronjobs-tui bench`: the scale benchmark (benchmarks/scale.py) in a throwaway cluster, or
`--mask` for the cost of masking secrets alone (benchmarks/mask.py); from a checkout only."""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

from tui.cli.checkout import use_benchmarks


def register(sub: Any, conn: argparse.ArgumentParser) -> None:
    bench = sub.add_parser("bench", add_help=False,
                           help="measure server time per refresh and the app at scale, in a "
                                "throwaway cluster")
    bench.add_argument("--jobs", type=int, default=None, help="jobs (default 10000)")
    bench.add_argument("--runs", default=None, metavar="H,H,...",
                       help="history sizes (default 100000,1000000,10000000)")
    bench.add_argument("--quick", action="store_true", help="small sizes: a smoke test")
    bench.add_argument("--idle", type=float, default=60.0,
                       help="seconds of idle measured (a whole minute: cron jobs start on it)")
    bench.add_argument("--stream", type=int, default=1_000_000,
                       help="new runs streamed for the memory figure")
    bench.add_argument("--mask", action="store_true",
                       help="only the cost of masking secrets, on ordinary and hostile "
                            "commands up to 1 MB, against the old implementation")
    bench.add_argument("--help", action="help")
    bench.set_defaults(handler=cmd_bench)


def _sizes(text: str) -> list[int]:
    return sorted({int(float(v.replace("_", ""))) for v in text.split(",") if v.strip()})


def cmd_bench(args: argparse.Namespace) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    use_benchmarks()
    if args.mask:  # no cluster needed: mask() alone
        from benchmarks import mask as bench_mask

        return bench_mask.main(args)
    from benchmarks.scale import report, run

    if args.quick:
        jobs, sizes, idle_s, stream = args.jobs or 200, _sizes(args.runs or "2000,20000"), 3.0, \
            5000
    else:
        jobs = args.jobs or 10_000
        sizes = _sizes(args.runs or "100000,1000000,10000000")
        idle_s, stream = args.idle, args.stream
    t0 = time.perf_counter()
    stages, app, _ = run(jobs, sizes, quick=args.quick, idle_s=idle_s, stream_runs=stream,
                         log=log)
    print(report(jobs, stages, app))
    print(f"(bench took {time.perf_counter() - t0:.0f} s)")
    return 0
