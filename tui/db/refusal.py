"""Every refusal of an operator's action as one sentence: the server's message and what to
do about it."""

from __future__ import annotations

from tui import log
from tui.db.as_role import NeedsConfirmation
from tui.db.client import DatabaseError, explain
from tui.db.writes import INSUFFICIENT_PRIVILEGE, READ_ONLY_TRANSACTION, JobChanged, ReadOnly


def refusal(error: BaseException) -> str:
    """One sentence for an operator: the server's message and what to do about it (and a
    line in the --log file)."""
    sentence = _sentence(error)
    log.refusal(sentence, sqlstate=getattr(error, "sqlstate", None))
    return sentence


def _sentence(error: BaseException) -> str:
    exc = error if isinstance(error, DatabaseError) else explain(error)
    text = str(exc).rstrip(". ")
    if isinstance(exc, (ReadOnly, JobChanged, NeedsConfirmation)):
        return text  # our own sentences already say what to do
    if exc.lost:
        advice = ("the server went away (restarted, or the session was ended): reconnect "
                  "(the app does so by itself) and check the job's state before trying again")
    else:
        state = exc.sqlstate or ""
        advice = next((ADVICE[k] for k in (state, state[:3], state[:2]) if k in ADVICE), "")
        if state == QUERY_CANCELED and "statement timeout" not in text:
            advice = ("the statement was cancelled (by an administrator or another "
                      "session): nothing was changed; try again")
    if not advice or advice in text or "grant " in text:
        return text
    return f"{text}: {advice}"


QUERY_CANCELED = "57014"

#: What to do, by SQLSTATE (or its class), after the server's own message.
ADVICE = {
    READ_ONLY_TRANSACTION: (
        "the server refuses writes in this session (a read-only role or pooler, or a "
        "standby): connect to the primary with a role that may write"),
    INSUFFICIENT_PRIVILEGE: "ask a superuser for the privilege (the README lists them)",
    "55P03": ("another session holds a lock on it (an open transaction, or pg_cron itself): "
              "nothing was changed; try again once it has finished"),
    QUERY_CANCELED: ("the server did not finish within the statement timeout: nothing was "
                     "changed; try again, or raise --statement-timeout"),
    "40": "the server rolled it back (a conflict with another session): try again",
    "53": "the server is short of resources (connections, memory or disk): try again later",
    "57P": ("the server is shutting down or restarting: reconnect (the app does so by "
            "itself) and check the job's state before trying again"),
}
