"""Apply ``db/migrations/NNNN_name.sql`` in order, once each, recorded in ``schema_migrations``.

Safe to run twice and from several processes at once: a session-level advisory lock makes the
second runner wait until the first has finished, then find nothing left to do. Each migration
runs in its own transaction together with the row that records it.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from pathlib import Path

import asyncpg

from .exceptions import MigrationError
from .pool import connect

logger = logging.getLogger(__name__)

MIGRATION_DIR = Path(__file__).with_name("migrations")
# Any fixed 64-bit number unique to this purpose; other advisory locks must not reuse it.
MIGRATION_LOCK_KEY = 0x43_61_6C_6C_62_6F_61_72  # "Callboar"
_FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>\w+)\.sql$")


@dataclasses.dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


def available(directory: Path = MIGRATION_DIR) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_words.sql")
        migrations.append(Migration(int(match["version"]), match["name"], path))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"two migrations share a version number in {directory}")
    return migrations


async def applied_versions(conn: asyncpg.Connection) -> set[int]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return set()
    return {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}


async def migrate(conn: asyncpg.Connection, directory: Path = MIGRATION_DIR) -> list[Migration]:
    """Apply every pending migration; return the ones this call applied."""
    pending_all = available(directory)
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migrations (
                   version    integer PRIMARY KEY,
                   name       text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        done = await applied_versions(conn)
        applied = []
        for migration in pending_all:
            if migration.version in done:
                continue
            try:
                async with conn.transaction():
                    await conn.execute(migration.path.read_text())
                    await conn.execute(
                        "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                        migration.version, migration.name,
                    )
            except asyncpg.PostgresError as exc:
                raise MigrationError(f"{migration.path.name} failed and was rolled back: {exc}") from exc
            logger.info("migration applied", extra={"action": "migration_applied", "version": migration.version,
                                                    "migration": migration.name})
            applied.append(migration)
        return applied
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def migrate_url(url: str) -> list[Migration]:
    conn = await connect(url)
    try:
        return await migrate(conn)
    finally:
        await conn.close()
