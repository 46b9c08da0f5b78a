"""One live snapshot for every open page, refreshed when the ingest reports a change.

The ingest announces each commit with the rows it touched (``NOTIFY callboard_changes``), every
change of an alert is announced on ``callboard_alerts`` and every session that ends on
``callboard_sessions`` (db/changes.py). The hub listens on a dedicated connection, refreshes the
snapshot at once when a change is heard, and wakes every page waiting for a newer one. Changes
heard meanwhile make one more refresh, no sooner than ``min_interval_s`` after the last began: a
burst of commits costs at most 20 refreshes a second, however many there are. With a live state
(``CALLBOARD_LIVE_STATE=incremental``, dashboard/live_state.py) a refresh applies the rows
announced and reads nothing, and every few minutes the hub compares that state with the snapshot
read whole from the database, repairing any difference; without one, each refresh reads the whole
snapshot. A heartbeat refresh moves the clock on when nothing happens (``/api/v1/live`` reads the
latest snapshot), but wakes the pages only when something they show has changed: figures that
follow the clock alone tick in the browser. A failed refresh keeps the last good snapshot, marked
stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import Any

import asyncpg

from db import changes
from db.changes import ALERTS_CHANNEL, CHANNEL, SESSIONS_CHANNEL
from db.pool import TRANSIENT_ERRORS, connect, needs_operator

from .data import LiveData
from .live_state import LiveState
from .session_watch import SessionWatch

logger = logging.getLogger(__name__)

# Seconds the listening connection may take to connect or answer its check before it is given up.
LISTEN_TIMEOUT_S = 10.0
# Figures that follow the clock alone: every refresh changes them, and the browser recomputes them
# between pushes from the moments they count from (dashboard/timers.py).
CLOCK_FIELDS = frozenset({"as_of", "longest_wait_s", "hold_s", "state_s", "seconds_left"})
# Seconds between two comparisons of the live state with the snapshot read whole from the database.
CHECK_EVERY_S = 300.0


def without_clock(value: Any) -> Any:
    """``value`` without its clock fields: what only a change on the floor (or in freshness) alters."""
    if isinstance(value, dict):
        return {key: without_clock(item) for key, item in value.items() if key not in CLOCK_FIELDS}
    if isinstance(value, list):
        return [without_clock(item) for item in value]
    return value


class SnapshotHub:
    def __init__(self, live: LiveData, database_url: str, *, state: LiveState | None = None,
                 sessions: SessionWatch | None = None, min_interval_s: float = 0.05, heartbeat_s: float = 2.0,
                 check_every_s: float = CHECK_EVERY_S) -> None:
        self._live = live
        self._state = state
        self._sessions = sessions
        self._check_every = check_every_s
        self._url = database_url
        self._min_interval = min_interval_s
        self._heartbeat = heartbeat_s
        self._changed = asyncio.Event()
        self._published = asyncio.Condition()
        self.snapshot: dict[str, Any] | None = None
        self.version = 0
        self._shown: dict[str, Any] | None = None  # the latest snapshot the pages were woken for
        # The first change announced since the last refresh: when the ingest wrote it and when it
        # was heard (time.time()), for the live path's timing (logged at DEBUG).
        self._first_change: tuple[float | None, float] | None = None

    async def run(self) -> None:
        listener = asyncio.create_task(self._listen(), name="hub-listen")
        checked_at = refreshed_at = time.monotonic()
        try:
            while True:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._heartbeat):
                        await self._changed.wait()
                    await asyncio.sleep(refreshed_at + self._min_interval - time.monotonic())
                self._changed.clear()
                refreshed_at = time.monotonic()
                await self._refresh()
                if self._state is not None and time.monotonic() - checked_at >= self._check_every:
                    checked_at = time.monotonic()
                    await self._check(self._state)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def wait_newer(self, version: int) -> tuple[int, dict[str, Any]]:
        """Return the latest snapshot once its version is newer than ``version`` (at once if it is)."""
        async with self._published:
            await self._published.wait_for(lambda: self.version > version and self.snapshot is not None)
            return self.version, self.snapshot

    async def _refresh(self) -> None:
        change, self._first_change = self._first_change, None
        began = time.time()
        try:
            snapshot = await (self._live.snapshot() if self._state is None else self._state.snapshot())
        except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:  # the snapshot's connection is discarded
            if self.snapshot is None or not self.snapshot.get("database_error"):
                logger.warning("live snapshot failed; pages keep the last one, marked stale (is PostgreSQL up?)",
                               extra={"action": "snapshot_failed", "error": str(exc) or type(exc).__name__})
            if self.snapshot is None:
                return
            snapshot = {**self.snapshot, "stale": True, "database_error": str(exc) or type(exc).__name__}
        # After a change the pages are woken at once: comparing a floor of a thousand agents with
        # the last one would cost as much as the refresh. A heartbeat wakes them only when what
        # they show has changed (figures that follow the clock alone tick in the browser).
        changed = change is not None or self._shown is None or without_clock(snapshot) != without_clock(self._shown)
        async with self._published:
            self.snapshot = snapshot
            if changed:
                self._shown = snapshot
                self.version += 1
                self._published.notify_all()
        if change is not None:
            logger.debug("live snapshot refreshed after a change", extra={
                "action": "snapshot_refreshed", "written_at": change[0], "heard_at": change[1], "began_at": began,
                "ready_at": time.time(), "version": self.version, "changed": changed})

    async def _check(self, state: LiveState) -> None:
        """Compare the live state with the database; a difference is logged, repaired and shown at once."""
        try:
            if await state.check():
                self._changed.set()
        except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:
            logger.warning("could not compare the live state with the database; trying again later",
                           extra={"action": "live_state_check_failed", "error": str(exc) or type(exc).__name__})

    def _heard(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        """A change was announced: refresh soon. A heartbeat's (the ingest's freshness alone) wakes
        the pages only if it changes what they show."""
        try:
            decoded = json.loads(payload)
        except ValueError:
            decoded = None
        if self._first_change is None and (channel == ALERTS_CHANNEL or changes.may_move_the_floor(payload)):
            written_at = decoded.get("written_at") if isinstance(decoded, dict) else None
            self._first_change = (written_at, time.time())
        if self._state is not None:
            if channel == CHANNEL:
                self._state.heard(decoded)
            else:
                self._state.heard_alert(decoded)
        self._changed.set()

    def _sessions_ended(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        self._sessions.ended(payload)

    async def _listen(self) -> None:
        """Keep a LISTEN connection open; check it now and then and reconnect when it breaks."""
        while True:
            conn = None
            try:
                # A check that does not answer in time means a half-open connection (TimeoutError).
                async with asyncio.timeout(LISTEN_TIMEOUT_S):
                    conn = await connect(self._url)
                for channel in (CHANNEL, ALERTS_CHANNEL):
                    await conn.add_listener(channel, self._heard)
                if self._sessions is not None:
                    await conn.add_listener(SESSIONS_CHANNEL, self._sessions_ended)
                    self._sessions.unsure()
                if self._state is not None:
                    self._state.lost()
                self._changed.set()  # something may have changed while we were not listening
                while True:
                    await asyncio.sleep(self._heartbeat)
                    await conn.fetchval("SELECT 1", timeout=LISTEN_TIMEOUT_S)
            except (*TRANSIENT_ERRORS, asyncpg.PostgresError) as exc:
                if unusable := needs_operator(exc):
                    logger.error("the database refuses the change listener until an operator acts; retrying",
                                 extra={"action": "listen_database_unusable", "error": str(unusable)})
                else:
                    logger.info("change listener lost its connection; reconnecting",
                                extra={"action": "listen_reconnect", "error": str(exc) or type(exc).__name__})
                if self._sessions is not None:
                    self._sessions.unsure()
                if self._state is not None:
                    self._state.lost()  # and the next refresh, reading the whole day, says if the database is down
                self._changed.set()
                await asyncio.sleep(self._heartbeat / 2)
            finally:
                if conn is not None:
                    conn.terminate()
