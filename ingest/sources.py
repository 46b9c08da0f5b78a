"""Where the ingest's events come from: the sources ``callboard ingest --source NAME`` chooses.

A source connects to one telephony system, turns what it sends into protocol events (docs/events.md)
and hands each message to ``deliver`` as the native feed does: parsed by ``protocol.parse_message``
and as JSON text (the journal keeps that text while the database is down). A translated event keeps
the system's own event beside it, in its ``source`` field, for audit. A source reconnects forever;
``last_seq`` is where a source that can replay resumes, ``stored_floor`` what one that cannot
reads back to take up where the ingest left off, and ``note`` tells operators (log and
/readyz) what they should know about its state, such as live state rebuilt from status queries
after a reconnect because the system cannot replay what was missed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from callboard.settings import Settings

from .asterisk.source import open_ami
from .feed import FeedClient
from .genesys import genesys_cloud
from .journal import Message
from .stored_floor import StoredFloorReader
from .writer import Received

Deliver = Callable[[Received, Message], Awaitable[None]]
OnConnection = Callable[[bool], Awaitable[None]]


class Source(Protocol):
    last_seq: int | None
    note: str | None

    async def run(self) -> None: ...


class OpenSource(Protocol):
    def __call__(self, url: str, *, deliver: Deliver, on_connection: OnConnection, last_seq: int | None,
                 settings: Settings, stored_floor: StoredFloorReader) -> Source: ...


def callboard_feed(url: str, *, deliver: Deliver, on_connection: OnConnection, last_seq: int | None,
                   settings: Settings, stored_floor: StoredFloorReader) -> FeedClient:
    """Callboard's own protocol over a websocket (docs/events.md): the default. It resumes by ``last_seq``;
    the stored floor is not needed (a feed that replays sends every event as it sent it first)."""
    return FeedClient(url, deliver=deliver, on_connection=on_connection, last_seq=last_seq,
                      token=settings.feed_token, ping_interval=min(10.0, settings.feed_ping_timeout_s / 2),
                      ping_timeout=settings.feed_ping_timeout_s)


# Each source's URL schemes: what --feed must start with.
SOURCES: dict[str, tuple[OpenSource, tuple[str, ...]]] = {
    "callboard": (callboard_feed, ("ws://", "wss://")),
    "asterisk-ami": (open_ami, ("tcp://", "ws://", "wss://")),
    "genesys-cloud": (genesys_cloud, ("https://", "http://")),
}
