"""A session as a job's role, for the two places that run a job's own SQL: run now
(tui.db.run_now) and the evaluation of an HTTP job's arguments (tui.db.pg_net).

pg_cron logs in as the job's role, so its command cannot act beyond that role's privileges.
We do the same when the server lets us (trust, peer, .pgpass, certificates). When it refuses
that login, the job's SQL would run on this login's session: SET ROLE can take on the job's
role there, but it is no boundary (the SQL itself can `reset role`), so nothing runs that way
before the operator says yes (NeedsConfirmation, then `as_self`).

The role is only ever taken with SET LOCAL, inside the transaction the job's SQL runs in: a
session-level SET ROLE would stay on the server connection, which a transaction pooler hands
to its next client.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from tui.db.client import DatabaseError
from tui.db.queries import query
from tui.models import Job

INSUFFICIENT_PRIVILEGE = "42501"

#: What each use of the session says it was for, and what SET ROLE would leave open.
_WORDS = {
    "run": (
        "to run job {label}",
        "{user} can take on {role} with SET ROLE, but the command could undo that and run "
        "with {user}'s privileges",
        "{user} may not take on {role} either; it would run as {user}"),
    "evaluate": (
        "to evaluate the HTTP call of job {label}",
        "{user} could take on {role} with SET ROLE, but the arguments could undo that",
        "they would be evaluated as {user}"),
}


class NeedsConfirmation(DatabaseError):
    """We could not log in as the job's role: ask before running its SQL another way."""

    def __init__(self, job: Job, user: str, reason: str, *, can_set_role: bool,
                 doing: str = "run"):
        purpose, can, cannot = _WORDS[doing]
        how = (can if can_set_role else cannot).format(user=user, role=job.username)
        super().__init__(f"cannot log in as {job.username} {purpose.format(label=job.label)} "
                         f"({reason}); {how}", sqlstate=INSUFFICIENT_PRIVILEGE)
        self.role = job.username
        self.user = user
        self.can_set_role = can_set_role


def first_line(exc: BaseException, default: str) -> str:
    return (str(exc).strip().splitlines() or [default])[0]


Opener = Callable[[str | None], Awaitable[psycopg.AsyncConnection]]


async def connect(job: Job, open_as: Opener, *,
                  try_login: bool = True) -> tuple[psycopg.AsyncConnection, str | None]:
    """A connection logged in as the job's role when the server allows it (and `try_login`),
    else as this login; and why the job's role was refused (None: not refused). `open_as`
    opens a connection as the given user (None: this login's own). The second refusal is the
    caller's to word: its psycopg.Error is raised as it is."""
    refused = None
    if try_login:
        try:
            return await open_as(job.username), None
        except psycopg.Error as exc:
            refused = first_line(exc, "refused")
    return await open_as(None), refused


async def current_user(conn: psycopg.AsyncConnection) -> str:
    cur = await conn.execute(query("as_role_current_user"))
    row = await cur.fetchone()
    return str(row[0]) if row else "this login"


def _set_local(role: str) -> sql.Composed:
    return query("as_role_set_local").format(role=sql.Identifier(role))


async def set_local_role(conn: psycopg.AsyncConnection, role: str) -> None:
    """Take on `role` until the transaction `conn` is in ends (call inside one)."""
    await conn.execute(_set_local(role))


async def may_set_role(conn: psycopg.AsyncConnection, role: str) -> bool:
    """Whether this login may take on `role`, tried in a (sub)transaction that is rolled
    back: whatever it sets ends there."""
    try:
        async with conn.transaction(force_rollback=True):
            await set_local_role(conn, role)
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


@dataclass(frozen=True)
class Acting:
    """Who the job's SQL will act as on this connection."""

    user: str  # current_user of the connection as opened
    via_set_role: bool  # the job's role is to be taken with set_local_role (confirmed)


async def acting(conn: psycopg.AsyncConnection, job: Job, *, as_self: bool,
                 refused: str | None, doing: str) -> Acting:
    """Who the job's SQL acts as on `conn`: the job's role when logged in as it; else, once
    confirmed (`as_self`), the job's role by SET LOCAL ROLE if this login may take it on,
    or this login. Unconfirmed: NeedsConfirmation."""
    user = await current_user(conn)
    if user == job.username:
        return Acting(user, via_set_role=False)
    can_set_role = await may_set_role(conn, job.username)
    if not as_self:
        raise NeedsConfirmation(job, user, refused or "login refused",
                                can_set_role=can_set_role, doing=doing)
    return Acting(user, via_set_role=can_set_role)
