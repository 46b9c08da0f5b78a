"""The websocket client side of the event protocol: connect, resume, receive, reconnect forever."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime
from urllib.parse import urlsplit

from websockets.asyncio.client import connect
from websockets.client import backoff
from websockets.exceptions import ConnectionClosed

from .protocol import parse_message
from .writer import Received

logger = logging.getLogger(__name__)

# Messages up to this size are read and judged (a huge one is dead-lettered, not a reason to drop
# the connection and fetch it again forever).
MAX_MESSAGE_BYTES = 64 * 2**20
# Reconnection back-off: a random first wait up to this (so a crowd of clients does not return at
# once), then from the minimum growing by half each time, capped. Seconds.
RECONNECT_FIRST_MAX_S = 1.0
RECONNECT_MIN_S = 0.5
RECONNECT_MAX_S = 30.0
# One read from a busy socket can bring hundreds of messages, which the client would otherwise
# parse in one go while the writer's database replies wait: let other tasks run this often.
YIELD_EVERY = 50


def shown_url(url: str) -> str:
    """``url`` as logs show it: without a user and password, a query or a fragment (tokens go there)."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc += f":{parts.port}"
    return parts._replace(netloc=netloc, query="", fragment="").geturl()


def reconnect_delays() -> Iterator[float]:
    return backoff(initial_delay=RECONNECT_FIRST_MAX_S, min_delay=RECONNECT_MIN_S, max_delay=RECONNECT_MAX_S,
                   factor=1.5)


class FeedClient:
    """Subscribe to one feed and hand every message, parsed, to ``deliver``.

    ``deliver`` gets each message parsed and as it came. ``last_seq`` is the highest sequence
    number handed over so far; after a reconnect the client asks the feed to replay everything
    after it. ``deliver`` applies back-pressure: while it waits, nothing more is read from the
    socket.
    """

    def __init__(
        self,
        url: str,
        *,
        deliver: Callable[[Received, str | bytes], Awaitable[None]],
        on_connection: Callable[[bool], Awaitable[None]],
        last_seq: int | None = None,
        token: str | None = None,
        ping_interval: float = 10.0,
        ping_timeout: float = 30.0,
    ) -> None:
        self.url = url
        self.last_seq = last_seq
        self.note = None  # the feed replays what was missed: nothing to tell operators
        self._deliver = deliver
        self._on_connection = on_connection
        self._headers = {"Authorization": f"Bearer {token}"} if token else None
        # A pong can queue behind seconds of unread events while the database is slow; only a
        # connection silent for ping_timeout is declared dead.
        self._ping_interval = ping_interval
        self._ping_timeout = ping_timeout
        self._shown_url = shown_url(url)

    async def run(self) -> None:
        async for ws in connect(
            self.url,
            additional_headers=self._headers,
            max_size=MAX_MESSAGE_BYTES,
            ping_interval=self._ping_interval,
            ping_timeout=self._ping_timeout,
            # A connection found dead by its pings is not waited on for a closing handshake either.
            close_timeout=min(10.0, self._ping_timeout),
            reconnect_delays=reconnect_delays,
            # Events are small; compressing each one costs the feed and us more CPU than it saves.
            compression=None,
        ):
            logger.info("connected to feed", extra={"action": "feed_connected", "url": self._shown_url,
                                                    "after_seq": self.last_seq})
            await self._on_connection(True)
            reason = "closed by the feed"
            try:
                await ws.send(json.dumps({"op": "resume", "after_seq": self.last_seq or 0}))
                count = 0
                async for message in ws:
                    received = Received(datetime.now(UTC), *parse_message(message))
                    seqs = [event.seq for event in received.events if event.seq is not None]
                    await self._deliver(received, message)
                    if seqs:
                        self.last_seq = max(self.last_seq or 0, *seqs)
                    count += 1
                    if count % YIELD_EVERY == 0:
                        await asyncio.sleep(0)
            except ConnectionClosed as exc:
                reason = str(exc)
            logger.warning(
                "feed connection lost; reconnecting and resuming after the last event received",
                extra={"action": "feed_disconnected", "url": self._shown_url, "after_seq": self.last_seq,
                       "reason": reason},
            )
            await self._on_connection(False)
