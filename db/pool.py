"""The process's one asyncpg pool, with JSON codecs, and the error wrapping for its callers."""

from __future__ import annotations

import json
from urllib.parse import urlsplit, urlunsplit

import asyncpg


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 4) -> asyncpg.Pool:
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection)


async def connect(url: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (for LISTEN and migrations)."""
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn


# Errors meaning "the database is unreachable or restarting": worth waiting and retrying.
CONNECTION_ERRORS = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.InterfaceError,
)
# Errors that say nothing about the data: a deadlock, a cancelled query, a full disk, a read-only
# server after a fail-over. Retried like a lost connection.
TRANSIENT_ERRORS = CONNECTION_ERRORS + (
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
)
# Errors that say the data itself cannot be stored: only these send events to dead_letters.
DATA_ERRORS = (asyncpg.exceptions.DataError, asyncpg.exceptions.IntegrityConstraintViolationError)


def with_database(url: str, name: str) -> str:
    """The same server and options as ``url``, another database."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


async def recreate_database(admin_url: str, name: str, template: str | None = None) -> str:
    """Drop ``name`` if it exists and create it empty (or as a copy of ``template``); return its URL.

    For tests and benchmarks, which need throw-away databases on one server.
    """
    quoted = '"' + name.replace('"', '""') + '"'
    copy = "" if template is None else ' TEMPLATE "' + template.replace('"', '""') + '"'
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {quoted}{copy}")
    finally:
        await admin.close()
    return with_database(admin_url, name)
