"""What the ingest stored of a feed's floor, read back when a source starts.

A source that cannot replay what its system sent while the ingest was stopped (Asterisk's AMI)
rebuilds the floor from the system's status queries; those give durations in whole seconds and
no history, so the events it would make of a call already stored could differ from the stored
ones (a call stored twice, its times moved). Reading back the calls in progress, the agents'
states and the queues' members lets it take up where the ingest left off and make only what is new.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import asyncpg

from db.pool import connection
from db.queries import QUERIES


@dataclasses.dataclass(frozen=True)
class OpenCall:
    call_id: str
    queue: str | None
    waiting: bool  # else talking
    answered: dict[str, Any] | None  # its latest call.answered as stored, for a call talking


@dataclasses.dataclass(frozen=True)
class StoredFloor:
    calls: list[OpenCall]
    agent_states: dict[str, tuple[str, str]]  # agent -> latest (state, reason), reason '' when none
    members: dict[str, list[str]]  # queue -> its agents, as the feed last announced them


class StoredFloorReader:
    def __init__(self, pool: asyncpg.Pool, feed_name: str) -> None:
        self._pool = pool
        self._feed_name = feed_name

    async def read(self) -> StoredFloor:
        async with connection(self._pool) as conn:
            calls = await conn.fetch(QUERIES["sources.open_calls"], self._feed_name)
            states = await conn.fetch(QUERIES["sources.agent_states_last"])
            members = await conn.fetch(QUERIES["sources.queue_members"], self._feed_name)
        return StoredFloor([OpenCall(r["call_id"], r["queue"], r["waiting"], r["answered"]) for r in calls],
                           {r["agent"]: (r["state"], r["reason"]) for r in states},
                           {r["queue"]: list(r["agents"]) for r in members})
