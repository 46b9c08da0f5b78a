"""Signing in and who holds a request: sessions for people and display screens, API bearer tokens,
one-time links, and the trusted proxy's user header; failures counted in the database, so that every
dashboard process refuses the sixth wrong password alike."""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from callboard.settings import Settings
from db.queries import QUERIES

from . import keys
from .exceptions import SignInRefused, TooManyFailures

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Principal:
    """Who a request comes from: their name (a user's, a display's or an API token's) and role.

    ``session`` is the sha256 of the session cookie (None for tokens and the proxy's header): it is
    checked again before each push to a page (dashboard/session_watch.py), so a revoked display
    stops receiving at once; ``expires_at`` is when it expires.
    """

    name: str
    role: str
    kind: str  # "user", "display", "token" or "proxy"
    session: bytes | None = None
    csrf: str | None = None
    expires_at: datetime | None = None  # the session's


@dataclass(frozen=True)
class NewSession:
    key: str  # the cookie's value, given to the browser once
    expires_at: datetime
    principal: Principal


class Gate:
    """Sign-in and the look-ups every request makes; one per dashboard process."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self._pool = pool
        self._settings = settings

    # --- Signing in ----------------------------------------------------------------------------
    async def sign_in(self, name: str, password: str, address: str, replacing: str | None = None) -> NewSession:
        """A new session for the user, if the password is theirs and they have not failed too often.

        Raises :class:`TooManyFailures` (checked first: no password is tried then) or :class:`SignInRefused`.
        The session a browser held before (``replacing``) ends: the key changes at every sign-in.
        """
        now = datetime.now(UTC)
        window = timedelta(minutes=self._settings.sign_in_window_min)
        failures = await self._pool.fetchrow(QUERIES["auth.sign_in_failures"], now - window, name, address)
        if max(failures["by_name"], failures["by_address"]) >= self._settings.sign_in_attempts:
            logger.warning("sign-in refused: too many failures", extra={"action": "sign_in_throttled"})
            raise TooManyFailures(f"Too many failed sign-ins. Try again in {self._settings.sign_in_window_min:g} "
                                  "minutes.", int(window.total_seconds()))
        user = await self._pool.fetchrow(QUERIES["auth.user_by_name"], name)
        stored = user["password_hash"] if user else None
        if not await asyncio.to_thread(keys.password_matches, stored, password):
            async with self._pool.acquire() as conn, conn.transaction():
                await conn.execute(QUERIES["auth.forget_sign_in_failures"], now - window)
                await conn.execute(QUERIES["auth.add_sign_in_failure"], now, name, address)
                await conn.execute(QUERIES["auth.audit"], name[:100], "sign_in_failed", None, address)
            logger.info("sign-in failed", extra={"action": "sign_in_failed"})
            raise SignInRefused("Wrong user name or password.")
        if keys.needs_rehash(stored):
            await self._pool.execute(QUERIES["auth.set_password_hash"], user["id"],
                                     await asyncio.to_thread(keys.hash_password, password))
        return await self._start(user["id"], None, Principal(user["name"], user["role"], "user"), "sign_in",
                                 address, timedelta(hours=self._settings.session_hours), replacing)

    async def sign_in_display(self, token: str, address: str, replacing: str | None = None) -> NewSession | None:
        """A long-lived wall session for the screen that opened a display's URL; None if not a display's."""
        display = await self._pool.fetchrow(QUERIES["auth.display_by_token"], keys.digest(token))
        if display is None:
            return None
        return await self._start(None, display["id"], Principal(display["name"], "wall", "display"),
                                 "display_signed_in", address,
                                 timedelta(days=self._settings.display_session_days), replacing)

    async def sign_in_link(self, token: str, address: str, replacing: str | None = None) -> NewSession | None:
        """A session for the user a one-time link was made for (the link is used up); None if unusable."""
        user = await self._pool.fetchrow(QUERIES["auth.use_sign_in_link"], keys.digest(token), datetime.now(UTC))
        if user is None:
            return None
        return await self._start(user["id"], None, Principal(user["name"], user["role"], "user"), "sign_in",
                                 address, timedelta(hours=self._settings.session_hours), replacing)

    async def add_sign_in_link(self, name: str, valid: timedelta) -> str:
        """A one-time sign-in link's token for the user named ``name``."""
        token = keys.new_key()
        await self._pool.execute(QUERIES["auth.add_sign_in_link"], keys.digest(token), name, datetime.now(UTC) + valid)
        return token

    async def _start(self, user_id: int | None, display_id: int | None, who: Principal, action: str, address: str,
                     lasting: timedelta, replacing: str | None) -> NewSession:
        key, csrf = keys.new_key(), secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        async with self._pool.acquire() as conn, conn.transaction():
            if replacing:
                await conn.execute(QUERIES["auth.end_session"], keys.digest(replacing))
            await conn.execute(QUERIES["auth.drop_expired_sessions"], now)
            await conn.execute(QUERIES["auth.start_session"], keys.digest(key), user_id, display_id, csrf,
                               now + lasting)
            await conn.execute(QUERIES["auth.audit"], who.name, action, None, address)
        logger.info("signed in", extra={"action": action, "kind": who.kind})
        principal = Principal(who.name, who.role, who.kind, keys.digest(key), csrf, now + lasting)
        return NewSession(key, now + lasting, principal)

    async def sign_out(self, who: Principal, address: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            await conn.execute(QUERIES["auth.end_session"], who.session)
            await conn.execute(QUERIES["auth.audit"], who.name, "sign_out", None, address)
        logger.info("signed out", extra={"action": "sign_out"})

    # --- Who holds a request -------------------------------------------------------------------
    async def by_session(self, key: str) -> Principal | None:
        """The holder of an unexpired session (its user's current role), None if ended or expired."""
        session = keys.digest(key)
        row = await self._pool.fetchrow(QUERIES["auth.session"], session, datetime.now(UTC))
        if row is None:
            return None
        return Principal(row["name"], row["role"], "display" if row["is_display"] else "user", session,
                         row["csrf_token"], row["expires_at"])

    async def live_sessions(self, sessions: list[bytes]) -> set[bytes]:
        """Those of ``sessions`` that have neither ended nor expired."""
        rows = await self._pool.fetch(QUERIES["auth.live_sessions"], sessions, datetime.now(UTC))
        return {row["id_hash"] for row in rows}

    async def by_token(self, token: str) -> Principal | None:
        row = await self._pool.fetchrow(QUERIES["auth.use_token"], keys.digest(token), datetime.now(UTC))
        return Principal(row["name"], row["role"], "token") if row else None

    async def by_user_name(self, name: str) -> Principal | None:
        """The user a trusted proxy says signed in, if they exist here."""
        row = await self._pool.fetchrow(QUERIES["auth.user_by_name"], name)
        return Principal(row["name"], row["role"], "proxy") if row else None

    async def audit(self, who: Principal, action: str, subject: str | None, address: str | None) -> None:
        await self._pool.execute(QUERIES["auth.audit"], who.name, action, subject, address)
