"""The field log: `--log FILE` appends what happened to FILE, one JSON object a line.

Off by default (nothing is written anywhere). What it records is what otherwise leaves no
trace: reconnects, errors swallowed on purpose (closing a dead connection, recording a run's
end at quit), refusals, and the traceback behind an internal error. Every text field, the
traceback included, is masked (tui/masking.py) before it is written: the log is a file an
operator may attach to a bug report.

    from tui import log
    log.event("reconnect", "connection lost: server closed the connection", target="...")
    log.swallowed("closing a dead connection", exc)
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import traceback
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tui.masking import mask

LOGGER = logging.getLogger("cronjobs_tui")
LOGGER.addHandler(logging.NullHandler())
LOGGER.propagate = False  # never into a host application's (or pytest's) root handlers
LOGGER.setLevel(logging.DEBUG)


class JsonLines(logging.Formatter):
    """One masked JSON object per record: time (UTC), level, event, message, the fields
    given, and the traceback of the exception logged with it."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "event": getattr(record, "event", "message"),
            "message": mask(record.getMessage()),
            "pid": record.process,
        }
        for key, value in (getattr(record, "fields", None) or {}).items():
            entry[key] = _masked(value)
        if record.exc_info and record.exc_info[1] is not None:
            entry["traceback"] = mask("".join(traceback.format_exception(*record.exc_info)))
        # ensure_ascii: control characters of database text arrive escaped, never raw.
        return json.dumps(entry, ensure_ascii=True, default=str)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return value
    return mask(str(value))


def start(path: str | Path) -> None:
    """Append to `path` from now on (created 0600: it may name servers and roles)."""
    stop()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    handler = logging.StreamHandler(os.fdopen(fd, "a", encoding="utf-8"))
    handler.setFormatter(JsonLines())
    LOGGER.addHandler(handler)


def stop() -> None:
    for handler in list(LOGGER.handlers):
        if not isinstance(handler, logging.NullHandler):
            LOGGER.removeHandler(handler)
            handler.close()


def event(kind: str, message: str, *, level: int = logging.INFO,
          exc: BaseException | None = None, **fields: Any) -> None:
    """Record one event; `exc` adds its traceback."""
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    LOGGER.log(level, "%s", message, exc_info=exc_info,
               extra={"event": kind, "fields": fields})


def swallowed(where: str, exc: BaseException) -> None:
    """An error we chose to go on after: what we were doing, and the error."""
    event("swallowed", f"{where}: {type(exc).__name__}: {exc}", level=logging.WARNING, exc=exc)


def refusal(message: str, **fields: Any) -> None:
    """An action the server (or our own check) refused, in the words the operator saw."""
    event("refusal", message, level=logging.WARNING, **fields)


def reconnect(target: str, reason: str) -> None:
    event("reconnect", reason, target=target)


def internal_error(exc: BaseException, command: str | None) -> None:
    event("internal_error", f"{type(exc).__name__}: {exc}", level=logging.ERROR, exc=exc,
          command=command)


@contextlib.contextmanager
def swallowing(where: str) -> Iterator[None]:
    """`contextlib.suppress(Exception)` that leaves a trace: for errors we go on after on
    purpose (closing a dead connection, recording a run's end while quitting)."""
    try:
        yield
    except Exception as exc:
        swallowed(where, exc)
