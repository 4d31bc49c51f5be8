"""A TCP proxy between the app and its server that delays each direction and counts round trips.

A bastion host 30 ms from a hosted database waits on round trips, not on server milliseconds:
`Proxy(host, port, delay_s=0.015)` makes a 30 ms round trip out of a local server, and counts
what the app asks for. A round trip is counted each time the server answers after the client
has spoken (per connection): pipelined statements sent together and answered together are one.

It runs its own event loop in a thread, so synchronous code (psycopg's), `asyncio.run` of a
subcommand and the app's own loop can all go through it.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Counts:
    round_trips: int = 0
    connections: int = 0
    bytes_up: int = 0
    bytes_down: int = 0


class Proxy:
    def __init__(self, host: str, port: int, *, delay_s: float = 0.0):
        self.target = (host, port)
        self.delay_s = delay_s
        self.counts = Counts()
        self.port = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True, name="proxy")

    # -- what a bench reads ---------------------------------------------------------------
    def reset(self) -> Counts:
        """The counts so far, and zero from now on."""
        with self._lock:
            counts, self.counts = self.counts, Counts()
        return counts

    @contextmanager
    def measure(self) -> Iterator[Counts]:
        """`with proxy.measure() as c:` ... c holds what the block cost once it ends."""
        self.reset()
        counts = Counts()
        try:
            yield counts
        finally:
            done = self.reset()
            counts.__dict__.update(done.__dict__)

    def conninfo(self, dsn: str) -> str:
        """`dsn` pointed at the proxy."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo(dsn, host="127.0.0.1", hostaddr="127.0.0.1", port=str(self.port))

    # -- lifecycle ------------------------------------------------------------------------
    def __enter__(self) -> Proxy:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._client, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:  # every connection cut, each copy ended, before the loop closes
            server.close()
            tasks = asyncio.all_tasks(self._loop)
            for task in tasks:
                task.cancel()
            self._loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
            self._loop.close()

    # -- one client connection ----------------------------------------------------------------
    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        with self._lock:
            self.counts.connections += 1
        last = ["down"]  # who spoke last on this connection
        # Cancelled as the proxy closes: it ends quietly (asyncio's streams report a
        # connection handler that ends cancelled as an error, with its traceback).
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(self._pipe(reader, up_writer, "up", last),
                                 self._pipe(up_reader, writer, "down", last),
                                 return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                    direction: str, last: list[str]) -> None:
        """Copy one direction, each chunk delivered `delay_s` after it arrived, in order."""
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                if not data:
                    break
                if (wait := at - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(65536):
                with self._lock:
                    if direction == "down":
                        self.counts.bytes_down += len(data)
                        if last[0] == "up":
                            self.counts.round_trips += 1
                    else:
                        self.counts.bytes_up += len(data)
                    last[0] = direction
                queue.put_nowait((time.monotonic() + self.delay_s, data))
        finally:
            queue.put_nowait((0.0, b""))
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await sender
