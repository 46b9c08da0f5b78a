"""Least privilege in PostgreSQL: ``callboard db grant`` (docs/security.md, "PostgreSQL roles").

Four group roles that cannot log in: ``callboard_migrator`` owns the schema (and acts as the
ingest), ``callboard_ingest`` owns the event log and writes every table derived from it,
``callboard_dashboard`` reads and writes only the few tables it writes (db/queries/grants.sql keeps
that list), ``callboard_alerts`` reads and writes the alerts. Login users join them, one per role
given a password file. The SQL is in db/queries/grants.sql; every step is safe to run again, and
``callboard db migrate`` runs it again after migrating (when the roles exist and it runs as a
superuser), so that new tables get their owner and privileges.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import asyncpg

from db.exceptions import GrantError
from db.migrate import migrate
from db.pool import connect
from db.queries import QUERIES

logger = logging.getLogger(__name__)

ROLES = ("callboard_migrator", "callboard_ingest", "callboard_dashboard", "callboard_alerts")


def login_user(role: str) -> str:
    """The login user made for group role ``role``: ``callboard_ingest`` → ``callboard_ingest_login``."""
    return f"{role}_login"


def read_password(path: Path) -> str:
    """The password in ``path``: its first line, without the line's end; refused if empty."""
    try:
        password = path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    except OSError as exc:
        raise GrantError(f"{path}: cannot read the password file ({exc.strerror})") from None
    if not password:
        raise GrantError(f"{path}: the password file is empty")
    return password


async def grant(conn: asyncpg.Connection, passwords: Mapping[str, str] | None = None) -> list[str]:
    """Make the group roles, set owners and privileges, and make or update a login user for each
    role in ``passwords`` (role → password); the login users made or updated."""
    unknown = set(passwords or {}) - set(ROLES)
    if unknown:
        raise GrantError(f"no such role: {', '.join(sorted(unknown))} (the roles: {', '.join(ROLES)})")
    try:
        async with conn.transaction():
            await conn.execute(QUERIES["grants.create_roles"])
            await conn.execute(QUERIES["grants.grant_privileges"])
            users = []
            for role, password in (passwords or {}).items():
                statements = await conn.fetchrow(QUERIES["grants.login_user"], login_user(role), role, password)
                await conn.execute(statements["make"])
                await conn.execute(statements["membership"])
                users.append(login_user(role))
    except asyncpg.InsufficientPrivilegeError as exc:
        raise GrantError("the database refused to set up roles: run `callboard db grant` as a superuser "
                         f"(DATABASE_URL) ({exc})") from None
    logger.info("roles and privileges set", extra={"action": "grants_set", "login_users": ",".join(users)})
    return users


async def grant_again(conn: asyncpg.Connection) -> bool:
    """After a migration: set owners and privileges again, so that new tables get theirs, if
    ``callboard db grant`` made the roles on this server (True); else nothing (False). A user that
    may not set them (not a superuser) leaves them as they were, with a warning to run
    ``callboard db grant``."""
    if not await conn.fetchval(QUERIES["grants.roles_exist"], list(ROLES)):
        return False
    try:
        await grant(conn)
    except GrantError as exc:
        logger.warning("migrated, but the roles' privileges were not set again: run `callboard db grant` as a "
                       "superuser", extra={"action": "grants_not_set", "error": str(exc)})
        return False
    return True


async def migrate_and_grant_url(url: str) -> bool:
    """``callboard db migrate``: apply pending migrations, then :func:`grant_again`."""
    conn = await connect(url)
    try:
        await migrate(conn)
        return await grant_again(conn)
    finally:
        await conn.close()


async def grant_url(url: str, passwords: Mapping[str, str] | None = None) -> list[str]:
    conn = await connect(url)
    try:
        return await grant(conn, passwords)
    finally:
        await conn.close()
