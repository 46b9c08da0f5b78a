"""Whether the pages being pushed to are still signed in: one query per snapshot for all of them.

Every open page's push checks its session before each update (a revoked display must stop at the
next one); asked page by page, 100 open walls would cost 100 queries per change. Instead the first
page to ask about a snapshot version asks the database about every watched session at once, and the
others wait for that answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from access.sessions import Gate
from db.pool import CONNECTION_ERRORS

logger = logging.getLogger(__name__)


class SessionWatch:
    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._watched: Counter[bytes] = Counter()
        self._version: int | None = None
        self._answer: asyncio.Task[tuple[set[bytes], set[bytes]]] | None = None

    def watch(self, session: bytes) -> None:
        self._watched[session] += 1

    def unwatch(self, session: bytes) -> None:
        self._watched[session] -= 1
        if self._watched[session] <= 0:
            del self._watched[session]

    async def holds(self, session: bytes, version: int) -> bool:
        """Whether ``session`` still holds, as asked once for snapshot ``version`` (or a later one).

        A session that began watching after that question was asked was checked when its page
        connected; while the database cannot be reached, every session keeps holding (the pages
        then show the stale banner over what they already have).
        """
        if self._answer is None or self._version is None or version > self._version:  # a later answer serves too
            self._version = version
            self._answer = asyncio.create_task(self._ask(list(self._watched)))
        asked, live = await asyncio.shield(self._answer)
        return session in live or session not in asked

    async def _ask(self, sessions: list[bytes]) -> tuple[set[bytes], set[bytes]]:
        try:
            return set(sessions), await self._gate.live_sessions(sessions)
        except CONNECTION_ERRORS:
            logger.debug("sessions not checked: the database cannot be reached", extra={"action": "sessions_unchecked"})
            return set(sessions), set(sessions)
