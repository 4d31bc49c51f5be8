"""`cronjobs-tui http JOB [--json]`: send an HTTP job's request now, from this machine.

The call's arguments are evaluated in the job's database as the job's role (read-only,
rolled back), then the request is sent with httpx. Secrets are masked in all output.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from tui.cli import types
from tui.cli.output import FOUND, OK

EPILOG = """\
JOB is a job name or #id. The job's net.http_post / net.http_get call is evaluated in its
database, logged in as its role as pg_cron does (read-only, rolled back); when that login is
refused, nothing is sent unless --as-self is given. The request is then sent from this machine:
TLS verification on, proxies from HTTPS_PROXY/HTTP_PROXY/NO_PROXY, redirects reported but not
followed, the call's timeout_milliseconds, at most 64 KiB of the answer read.

exit status: 0 an answer below 400, 1 an HTTP error or no answer, 2 usage or database error."""


def register(subparsers: Any, connection_parent: argparse.ArgumentParser) -> None:
    p = subparsers.add_parser(
        "http", parents=[connection_parent], add_help=False,
        help="send an HTTP job's request (net.http_post/http_get) now and show the answer",
        description="Send an HTTP job's request now, from this machine, and show the answer.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("job", metavar="JOB", type=types.job_ref, help="the job's name or #id")
    p.add_argument("--json", action="store_true", help="a JSON object")
    p.add_argument("--as-self", action="store_true",
                   help="if the job's role may not log in, evaluate the call as this login "
                        "(with SET ROLE when allowed)")
    p.add_argument("--help", action="help", help="show this help and exit")
    p.set_defaults(handler=run)


async def run(args: argparse.Namespace) -> int:
    from tui import http_jobs as http
    from tui.audit import AuditLog, default_path
    from tui.cli.options import options_from
    from tui.cli.output import print_json
    from tui.cli.resolve import resolve_job
    from tui.db import Database, DatabaseError
    from tui.db.actions import get_job
    from tui.db.client import require_pg_cron
    from tui.format import server_label
    from tui.text import one_line

    opts = options_from(args)
    if opts.read_only:
        raise DatabaseError("read-only session: sending a job's HTTP request is not allowed")
    db = Database(opts)
    try:
        facts = await db.facts()
        require_pg_cron(facts)
        job = await get_job(db, resolve_job(args.job, await db.jobs(indexed=False), facts).jobid)
        call = http.parse_call(job.command)
        if call is None:
            raise DatabaseError(f"job {one_line(job.label)} makes no HTTP call "
                                "(net.http_post or net.http_get)")
        request = await http.evaluate(db, job, call, as_self=args.as_self)
    finally:
        await db.close()
    result = await http.send(request)
    view = result.request
    AuditLog(default_path()).record(
        "http send", server=server_label(facts),
        role=facts.current_user, job=job.label, outcome="ok" if result.ok else "failed",
        detail=f"{view.method} {view.url}: {result.summary()} ({view.source}; cronjobs-tui http)")
    if args.json:
        out = {"jobid": job.jobid, "jobname": job.jobname, **result.as_json()}
        print_json(out)
    else:
        print_human(job.label, result)
    return OK if result.ok else FOUND


def print_human(label: str, result: Any) -> None:
    from tui.text import one_line

    view = result.request
    print(f"job {one_line(label)}: {view.source}")
    for line in view.lines():
        print(f"> {line}")
    if result.error:
        print(f"error: {result.error}")
        return
    print(f"< {result.summary()}")
    for name, value in result.headers:
        print(f"<   {name}: {value}")
    if result.body:
        print(result.body)
    if result.truncated:
        print(f"(body cut after {result.body_bytes:,} bytes)", file=sys.stderr)
