"""Receivers (webhooks, Alertmanager) and one bounded delivery round per pass.

Every receiver has its own queue of undelivered changes (kept in the state file). A round
sends to all receivers at once and stops at the pass's deadline; a receiver that fails is
left alone for the rest of the pass (its queue kept, in order) and tried again next pass. No
receiver can hold detection up: a pass waits at most its deadline for all of them together.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tui import log
from tui.insight import alertmanager
from tui.insight.episodes import Change, Episode
from tui.masking import mask
from tui.text import inert

#: The longest one request may take, within the pass's deadline.
REQUEST_TIMEOUT_S = 10.0
#: An undelivered queue keeps at most this many changes (the newest) per receiver.
MAX_QUEUE = 5_000


def slack_escaped(text: str) -> str:
    """Slack reads `<!channel>`, `<@U123>` and `<url|label>` in a message as mentions and links:
    a job named so would page a whole channel. Its own escapes make them plain characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def url_id(kind: str, url: str) -> str:
    # The state file names a receiver by a hash: Slack's URLs are secrets.
    return kind + ":" + hashlib.sha256(url.encode()).hexdigest()[:16]


@dataclass
class Webhook:
    """One POST per episode change: Slack's `{"text": ...}` or the change itself (generic)."""

    url: str
    fmt: str = "slack"  # or generic

    @property
    def id(self) -> str:
        return url_id("webhook", self.url)

    @property
    def shown(self) -> str:
        return mask(self.url) or ""

    def wants(self, change: Change) -> bool:
        return True

    def body(self, change: Change) -> Any:
        if self.fmt == "generic":
            return change.as_dict()
        return {"text": slack_escaped(inert(f"pg_cron {change.state}: {change.message} "
                                            f"({change.episode.hint})"))}

    async def send(self, client: Any, queue: list[Change], open_episodes: list[Episode],
                   now: datetime, ttl: timedelta, until: float) -> None:
        """Each queued change in order, popped once taken; raises on the first failure."""
        while queue:
            await _post(client, self.url, self.body(queue[0]), until)
            queue.pop(0)


@dataclass
class Alertmanager:
    """All open episodes and the resolved ones, in one POST per pass."""

    url: str

    @property
    def id(self) -> str:
        return url_id("alertmanager", self.url)

    @property
    def shown(self) -> str:
        return mask(self.url) or ""

    def wants(self, change: Change) -> bool:
        # Firing ones are sent from the open episodes at every pass; resolutions are queued.
        return change.state == "resolved"

    async def send(self, client: Any, queue: list[Change], open_episodes: list[Episode],
                   now: datetime, ttl: timedelta, until: float) -> None:
        alerts = alertmanager.body(open_episodes, queue, now, ttl)
        if alerts:
            await _post(client, alertmanager.alerts_url(self.url), alerts, until)
        queue.clear()


Receiver = Webhook | Alertmanager


class Refused(Exception):
    """A receiver did not take what it was sent (the message says why, masked)."""


async def _post(client: Any, url: str, body: Any, until: float) -> None:
    import httpx

    left = until - time.monotonic()
    if left <= 0:
        raise Refused("the pass's delivery deadline passed")
    try:
        answer = await client.post(url, json=body, timeout=min(REQUEST_TIMEOUT_S, left))
    except httpx.HTTPError as exc:
        what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise Refused(mask(what) or type(exc).__name__) from None
    if answer.status_code >= 300:
        raise Refused(f"HTTP {answer.status_code}: {mask(answer.text[:200])}")


async def deliver(receivers: Sequence[Receiver], queues: dict[str, list[Change]],
                  open_episodes: list[Episode], now: datetime, ttl: timedelta,
                  deadline_s: float, err: Any = None) -> list[str]:
    """One round to every receiver at once, within `deadline_s`; what was taken leaves the
    queues. Returns the receivers (shown, masked) that could not be delivered to."""
    import httpx

    err = err if err is not None else sys.stderr
    until = time.monotonic() + deadline_s
    failed: list[str] = []

    async def one(r: Receiver) -> None:
        queue = queues.setdefault(r.id, [])
        try:
            await r.send(client, queue, open_episodes, now, ttl, until)
        except Refused as exc:
            failed.append(r.shown)
            print(f"cronjobs-tui watch: {r.shown}: not delivered ({exc}); tried again next "
                  "pass", file=err)
            log.event("undelivered", str(exc), level=logging.WARNING, receiver=r.shown,
                      left=len(queue))

    if not receivers:
        return failed  # no client made: its TLS context alone costs a pass 20 ms of CPU
    async with httpx.AsyncClient(follow_redirects=False) as client:
        tasks = {asyncio.ensure_future(one(r)): r for r in receivers}
        done, pending = await asyncio.wait(tasks, timeout=max(deadline_s, 0.01))
        for task in pending:
            task.cancel()
            r = tasks[task]
            failed.append(r.shown)
            print(f"cronjobs-tui watch: {r.shown}: not delivered (no answer within the "
                  f"pass's {deadline_s:g} s); tried again next pass", file=err)
            log.event("undelivered", f"no answer within {deadline_s:g} s",
                      level=logging.WARNING, receiver=r.shown)
        if pending:
            await asyncio.wait(pending)
    for queue in queues.values():
        del queue[:-MAX_QUEUE]
    return failed
