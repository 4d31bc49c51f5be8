"""HTTP jobs: recognising pg_net calls in a job's command, and sending them with httpx.

A job is an HTTP job when its command calls `net.http_post` or `net.http_get` (pg_net).

    parse     SQL lexing; the call and its arguments as SQL; what is shown of them as written
    view      the request as it may be shown, and the masking of its secrets
    evaluate  the arguments evaluated in the job's database as the job's role; pg_net's answers
    send      sending the evaluated request from this machine with httpx
    outcome   pg_net's answers matched to pg_cron's runs

Everything that leaves these modules for a screen or a terminal is masked (tui.masking) and
made inert (tui.text): the values of secret headers, and every value that came from Vault,
are also cut out of whatever the server answers.
"""

from tui.db.as_role import NeedsConfirmation
from tui.http_jobs.evaluate import (
    EVAL_TIMEOUT_MS,
    PG_NET_MISSING,
    PgNetResponse,
    PgNetState,
    Request,
    evaluate,
    job_pg_net_state,
    pg_net_state,
)
from tui.http_jobs.parse import (
    DEFAULT_TIMEOUT_MS,
    DEFAULTS,
    PARAMS,
    Expr,
    HttpCall,
    is_http_job,
    literal,
    parse_call,
)
from tui.http_jobs.send import MAX_BODY, HttpResult, send
from tui.http_jobs.view import RequestView, redact

__all__ = [
    "DEFAULTS", "DEFAULT_TIMEOUT_MS", "EVAL_TIMEOUT_MS", "MAX_BODY", "PARAMS", "PG_NET_MISSING",
    "Expr", "HttpCall", "HttpResult", "NeedsConfirmation", "PgNetResponse", "PgNetState",
    "Request", "RequestView", "evaluate", "is_http_job", "job_pg_net_state", "literal",
    "parse_call", "pg_net_state", "redact", "send",
]
