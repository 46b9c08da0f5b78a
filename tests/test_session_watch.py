"""The pages' sessions are checked without a question to the database per push: ended sessions are
announced, and the database is asked once, for every page, only when announcements may have been
missed."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from access import keys
from access.sessions import Gate, Principal
from dashboard.session_watch import SessionWatch
from db.changes import SESSIONS_CHANNEL
from db.pool import connect

from .conftest import wait_for
from .live_stack import SESSION_KEYS, add_test_users, settings_for_test


class CountingGate(Gate):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.questions = 0

    async def live_sessions(self, sessions: list[bytes]) -> set[bytes]:
        self.questions += 1
        return await super().live_sessions(sessions)


def holder(session: bytes, expires_at: datetime | None = None) -> Principal:
    return Principal("someone", "wall", "display", session, None, expires_at)


async def test_after_one_question_for_every_page_ended_sessions_are_known_from_their_announcements(
        database_url, pool):
    await add_test_users(database_url)
    gate = CountingGate(pool, settings_for_test())
    watch = SessionWatch(gate)
    sessions = {role: keys.digest(key) for role, key in SESSION_KEYS.items()}
    pages = [sessions[role] for role in ("wall", "supervisor", "manager") for _ in range(30)]  # 90 open pages
    for session in pages:
        watch.watch(session)
    heard: list[str] = []
    listener = await connect(database_url)
    await listener.add_listener(SESSIONS_CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        await pool.execute("DELETE FROM sessions WHERE id_hash = $1", sessions["wall"])  # signed out
        # Not listening yet: the first check asks the database, once for every page.
        held = await asyncio.gather(*(watch.holds(holder(session)) for session in pages))
        assert held == [False] * 30 + [True] * 60 and gate.questions == 1
        # From then on, the announcements alone: a user removed signs their sessions out.
        await wait_for(lambda: asyncio.sleep(0, len(heard) == 1), message="the revoked display's announcement")
        await pool.execute("DELETE FROM users WHERE name = 'test-manager'")
        await wait_for(lambda: asyncio.sleep(0, len(heard) == 2), message="the removed user's announcement")
        for payload in heard:
            watch.ended(payload)
        assert heard[1] == sessions["manager"].hex()
        held = await asyncio.gather(*(watch.holds(holder(session)) for session in pages))
        assert held == [False] * 30 + [True] * 30 + [False] * 30 and gate.questions == 1
        # Announcements missed (the listener reconnected): one question again.
        watch.unsure()
        assert await watch.holds(holder(sessions["supervisor"])) and gate.questions == 2
        assert await watch.holds(holder(sessions["supervisor"])) and gate.questions == 2
    finally:
        await listener.close()


async def test_a_session_past_its_expiry_no_longer_holds_without_any_question(database_url, pool):
    await add_test_users(database_url)
    gate = CountingGate(pool, settings_for_test())
    watch = SessionWatch(gate)
    session = keys.digest(SESSION_KEYS["wall"])
    watch.watch(session)
    assert await watch.holds(holder(session, datetime.now(UTC) + timedelta(minutes=1)))
    assert not await watch.holds(holder(session, datetime.now(UTC) - timedelta(seconds=1)))
    assert gate.questions == 1  # the first check's, before any announcement could be heard


async def test_a_display_with_many_screens_is_announced_in_payloads_postgresql_accepts(database_url, pool):
    display = await pool.fetchval("INSERT INTO displays (name, token_hash) VALUES ('lobby', $1) RETURNING id",
                                  keys.digest("lobby-token"))
    screens = [keys.digest(f"screen-{n}") for n in range(250)]
    await pool.executemany("INSERT INTO sessions (id_hash, display_id, csrf_token, expires_at) "
                           "VALUES ($1, $2, 'x', now() + interval '1 hour')", [(s, display) for s in screens])
    heard: list[str] = []
    listener = await connect(database_url)
    await listener.add_listener(SESSIONS_CHANNEL, lambda *args: heard.append(args[-1]))
    try:
        await pool.execute("DELETE FROM displays WHERE id = $1", display)
        await wait_for(lambda: asyncio.sleep(0, len(heard) >= 3), message="the screens' announcements")
    finally:
        await listener.close()
    ended = {bytes.fromhex(text) for payload in heard for text in payload.split(",")}
    assert set(screens) <= ended and all(len(payload) < 8000 for payload in heard)
