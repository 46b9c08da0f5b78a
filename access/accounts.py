"""Users, display screens and API tokens: added, listed, changed and removed, each change audited.

The ``callboard users|displays|tokens`` commands call these; the secrets they hand out (a display's
URL token, an API token) are returned once and only their sha256 is kept.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from db.queries import QUERIES

from . import keys
from .exceptions import AccountError
from .roles import ROLES

logger = logging.getLogger(__name__)
COMMAND_LINE = "command line"  # the actor of changes made with the callboard command
MIN_PASSWORD_LENGTH = 10
NAME_RULE = "1 to 100 characters, no spaces"


@dataclass(frozen=True)
class Listed:
    name: str
    role: str
    created_at: datetime
    detail: str = ""


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; the roles are {', '.join(ROLES)}")


def _check_name(name: str, what: str) -> None:
    if not 1 <= len(name) <= 100 or any(c.isspace() or not c.isprintable() for c in name):
        raise AccountError(f"{what} name {name!r} is not valid: {NAME_RULE}")


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password is too short: give at least {MIN_PASSWORD_LENGTH} characters")


class Accounts:
    def __init__(self, pool: asyncpg.Pool, actor: str = COMMAND_LINE) -> None:
        self._pool = pool
        self._actor = actor

    async def _changed(self, conn: asyncpg.Connection, action: str, subject: str) -> None:
        await conn.execute(QUERIES["auth.audit"], self._actor, action, subject, None)
        logger.info("account changed", extra={"action": action, "subject": subject})

    # --- Users ---------------------------------------------------------------------------------
    async def add_user(self, name: str, role: str, password: str) -> None:
        _check_name(name, "user")
        _check_role(role)
        check_password(password)
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.add_user"], name, role, keys.hash_password(password)) is None:
                raise AccountError(f"there is already a user {name!r} (`callboard users set-role` changes a role)")
            await self._changed(conn, "user_added", name)

    async def remove_user(self, name: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.remove_user"], name) is None:
                raise AccountError(f"there is no user {name!r} (`callboard users list` lists them)")
            await self._changed(conn, "user_removed", name)

    async def set_role(self, name: str, role: str) -> None:
        _check_role(role)
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.set_role"], name, role) is None:
                raise AccountError(f"there is no user {name!r} (`callboard users list` lists them)")
            await self._changed(conn, "user_role_changed", f"{name}: {role}")

    async def set_password(self, name: str, password: str) -> None:
        check_password(password)
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.set_password"], name, keys.hash_password(password)) is None:
                raise AccountError(f"there is no user {name!r} (`callboard users list` lists them)")
            await self._changed(conn, "user_password_changed", name)

    async def users(self) -> list[Listed]:
        rows = await self._pool.fetch(QUERIES["auth.list_users"])
        return [Listed(r["name"], r["role"], r["created_at"]) for r in rows]

    async def has_admin(self) -> bool:
        return await self._pool.fetchval(QUERIES["auth.count_admins"]) > 0

    # --- Displays ------------------------------------------------------------------------------
    async def add_display(self, name: str) -> str:
        """Add a display; return the token of its URL (shown once, kept only as a hash)."""
        _check_name(name, "display")
        token = keys.new_key()
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.add_display"], name, keys.digest(token)) is None:
                raise AccountError(f"there is already a display {name!r} (revoke it first to give it a new URL)")
            await self._changed(conn, "display_added", name)
        return token

    async def revoke_display(self, name: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.revoke_display"], name) is None:
                raise AccountError(f"there is no display {name!r} (`callboard displays list` lists them)")
            await self._changed(conn, "display_revoked", name)

    async def displays(self) -> list[Listed]:
        return [Listed(r["name"], "wall", r["created_at"], f"{r['screens']} screen(s) signed in")
                for r in await self._pool.fetch(QUERIES["auth.list_displays"])]

    # --- API tokens ----------------------------------------------------------------------------
    async def add_token(self, name: str, role: str) -> str:
        """Add an API token; return it (shown once, kept only as a hash)."""
        _check_name(name, "token")
        _check_role(role)
        token = keys.new_key()
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.add_token"], name, role, keys.digest(token)) is None:
                raise AccountError(f"there is already a token {name!r} (revoke it first to replace it)")
            await self._changed(conn, "token_added", f"{name}: {role}")
        return token

    async def revoke_token(self, name: str) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            if await conn.fetchval(QUERIES["auth.revoke_token"], name) is None:
                raise AccountError(f"there is no token {name!r} (`callboard tokens list` lists them)")
            await self._changed(conn, "token_revoked", name)

    async def tokens(self) -> list[Listed]:
        rows = await self._pool.fetch(QUERIES["auth.list_tokens"])
        return [Listed(r["name"], r["role"], r["created_at"],
                       f"last used {r['last_used_at']:%Y-%m-%d %H:%M}" if r["last_used_at"] else "never used")
                for r in rows]
