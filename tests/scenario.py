"""Hand-worked scenarios are written as protocol events with these helpers, then stored for real."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

from ingest.protocol import parse_message
from ingest.writer import EventWriter, Received

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # the window starts here
NOW = T0 + timedelta(hours=1)


def at(seconds: float) -> str:
    return (T0 + timedelta(seconds=seconds)).isoformat()


# Event ids unique across floors, so that several floors can be stored in one database.
_EVENT_IDS = itertools.count()


class Floor:
    """Builds a list of protocol events with readable helpers."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def add(self, type_: str, seconds: float, **fields) -> None:
        self.events.append({"id": f"e{next(_EVENT_IDS)}", "type": type_, "ts": at(seconds), **fields})

    def call(self, call_id: str, queue: str, queued: float, *, answered: float | None = None,
             agent: str = "a1", abandoned: float | None = None, ended: float | None = None,
             resolved: bool | None = None, released_by: str = "customer", caller: str = "+86 138 0000 0000") -> None:
        self.add("call.queued", queued, call_id=call_id, queue=queue, caller=caller)
        if answered is not None:
            self.add("call.answered", answered, call_id=call_id, agent=agent)
        if abandoned is not None:
            self.add("call.abandoned", abandoned, call_id=call_id)
        if ended is not None:
            extra = {} if resolved is None else {"resolved": resolved}
            self.add("call.ended", ended, call_id=call_id, agent=agent, released_by=released_by, **extra)


async def store(pool, floor: Floor) -> None:
    """Write the floor's events through the real ingest writer."""
    writer = EventWriter(pool, "scenario")
    await writer.write([Received(datetime.now(UTC), *parse_message(json.dumps(floor.events)))])
