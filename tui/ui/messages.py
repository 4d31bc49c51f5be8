"""What goes up: widgets and screens post these messages (they bubble to the app) instead of
calling the app; what comes down is data, in one call (tui/ui/source.py's View).

Workers are started with `exit_on_error=False`, and their node passes a failure up as
`Failed` (the `FailuresGoUp` mixin): the app's one refusal funnel shows a refusal and lets
anything else end the app with its traceback, through Textual's public paths only.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx
import psycopg
from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

from tui.db import DatabaseError, actions
from tui.masking import mask
from tui.models import Run
from tui.text import one_line

#: What an action may fail with that is the world's doing, not a bug: shown, never fatal.
REFUSALS = (DatabaseError, psycopg.Error, OSError, TimeoutError, httpx.HTTPError)


def refusal_text(error: BaseException) -> str:
    """A refusal in one masked sentence, with what to do when the server's error says."""
    if isinstance(error, (DatabaseError, psycopg.Error, TimeoutError)):
        text = actions.refusal(error)
    else:
        text = str(error) or type(error).__name__
    return one_line(mask(text), 400)


class Failed(Message):
    """A worker of a screen or widget failed with `error`."""

    def __init__(self, error: BaseException) -> None:
        super().__init__()
        self.error = error


class JobsColumnsChanged(Message):
    """The jobs table changed its columns (the terminal was resized): draw the jobs again."""


class FailuresGoUp(MessagePump):
    """For a screen or widget with workers: their failures go up to the app as `Failed`
    (put it first in the bases)."""

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        error = event.worker.error
        if event.state == WorkerState.ERROR and error is not None:
            self.post_message(Failed(error))


@dataclass(frozen=True)
class Outcome:
    """What an action on a job did that the screens show: the app hands it down."""

    refresh: bool = True  # the jobs and runs read again
    created: int | None = None  # a job created: the cursor goes to it
    deleted: int | None = None  # a job deleted: its detail screen closes
    unrecorded: Run | None = None  # a manual run pg_cron's history could not keep
