"""Whether the pages being pushed to are still signed in, without asking the database at each push.

Every open page's push checks its session before each update (a revoked display must stop at the
next one). Asked page by page, 100 open walls would cost 100 queries per change; asked once per
change for all of them, one query per change and dashboard process. Instead every session that
ends is announced (``callboard_sessions``, db/migrations/0017): the hub hears it and tells the
watch (:meth:`SessionWatch.ended`), and a session that was not announced holds until it expires.

Only while announcements may have been missed (before the hub first listens, and after its
listening connection was lost: :meth:`SessionWatch.unsure`) does the next check ask the database
about every watched session at once; the other pages wait for that answer.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from datetime import UTC, datetime

from access.sessions import Gate, Principal
from db.pool import CONNECTION_ERRORS

logger = logging.getLogger(__name__)

# Seconds an ended session is remembered: longer than a page takes from its sign-in check to its
# first push, after which its page has been told or has gone.
REMEMBER_ENDED_S = 3600.0


class SessionWatch:
    def __init__(self, gate: Gate) -> None:
        self._gate = gate
        self._watched: Counter[bytes] = Counter()
        self._ended: dict[bytes, float] = {}  # session: when its end was heard (time.monotonic())
        self._unsure = itertools.count()  # counts the times announcements may have been missed
        self._unsure_since = next(self._unsure)  # missed since that count, until the database is asked
        self._sure_from: int | None = None
        self._answer: asyncio.Task[None] | None = None

    def watch(self, session: bytes) -> None:
        self._watched[session] += 1

    def unwatch(self, session: bytes) -> None:
        self._watched[session] -= 1
        if self._watched[session] <= 0:
            del self._watched[session]

    def ended(self, payload: str) -> None:
        """Sessions ended: ``payload`` is their announcement (hex sha256s, comma-separated)."""
        now = time.monotonic()
        for text in payload.split(","):
            try:
                self._ended[bytes.fromhex(text)] = now
            except ValueError:
                self.unsure()
        forgotten = [session for session, at in self._ended.items() if now - at > REMEMBER_ENDED_S]
        for session in forgotten:
            del self._ended[session]

    def unsure(self) -> None:
        """Announcements may have been missed: the next check asks the database."""
        self._unsure_since = next(self._unsure)

    async def holds(self, who: Principal) -> bool:
        """Whether ``who``'s session still holds: not announced as ended, not expired, and, after
        announcements may have been missed, found by asking the database about every watched session."""
        if self._sure_from != self._unsure_since:
            if self._answer is None:
                self._answer = asyncio.create_task(self._ask(self._unsure_since))
            await asyncio.shield(self._answer)
        return (who.session not in self._ended
                and (who.expires_at is None or who.expires_at > datetime.now(UTC)))

    async def _ask(self, since: int) -> None:
        sessions = list(self._watched)
        try:
            live = await self._gate.live_sessions(sessions)
        except CONNECTION_ERRORS:
            logger.debug("sessions not checked: the database cannot be reached", extra={"action": "sessions_unchecked"})
            return  # every session keeps holding; the pages show the stale banner over what they have
        finally:
            self._answer = None
        now = time.monotonic()
        for session in sessions:
            if session not in live:
                self._ended[session] = now
        self._sure_from = since
