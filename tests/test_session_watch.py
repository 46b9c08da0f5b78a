"""The pages' sessions are checked once per snapshot for all of them, not once per page."""

from __future__ import annotations

import asyncio

from access import keys
from access.sessions import Gate
from dashboard.session_watch import SessionWatch

from .live_stack import SESSION_KEYS, add_test_users, settings_for_test


class CountingGate(Gate):
    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.questions = 0

    async def live_sessions(self, sessions: list[bytes]) -> set[bytes]:
        self.questions += 1
        return await super().live_sessions(sessions)


async def test_every_page_s_session_is_checked_with_one_question_per_snapshot(database_url, pool):
    await add_test_users(database_url)
    gate = CountingGate(pool, settings_for_test())
    watch = SessionWatch(gate)
    sessions = {role: keys.digest(key) for role, key in SESSION_KEYS.items()}
    pages = [sessions[role] for role in ("wall", "supervisor", "manager") for _ in range(30)]  # 90 open pages
    for session in pages:
        watch.watch(session)
    await pool.execute("DELETE FROM sessions WHERE id_hash = $1", sessions["wall"])  # a display revoked

    held = await asyncio.gather(*(watch.holds(session, 7) for session in pages))
    assert held == [False] * 30 + [True] * 60 and gate.questions == 1
    # a page that began watching after the question was asked was checked when it connected
    watch.watch(sessions["admin"])
    assert await watch.holds(sessions["admin"], 7) and gate.questions == 1
    # the next snapshot asks again, about the pages still open
    for session in pages[:30]:
        watch.unwatch(session)
    assert await watch.holds(sessions["manager"], 8) and gate.questions == 2
    # a page still catching up with an older snapshot is answered with the newer answer
    assert await watch.holds(sessions["manager"], 7) and gate.questions == 2
