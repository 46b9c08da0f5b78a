"""The process's one asyncpg pool, with JSON codecs, and what its callers do with each database fault.

Every fault is one of three kinds, decided here for every service (ingest, dashboard, alerts):
- worth retrying (``TRANSIENT_ERRORS``): the server is down, restarting, shutting down, refusing
  connections or unreachable, a connection broke or stalled, a transaction was rolled back;
- about the data (``DATA_ERRORS``): only the rows at fault are refused;
- for an operator to cure (``needs_operator``): bad credentials, a missing database or schema.
A connection that failed in a way that may have broken it is terminated, never handed out again
(``connection`` and ``transaction``).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from .exceptions import DatabaseUnusable


async def _init_connection(conn: asyncpg.Connection) -> None:
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 4,
                      timeout_s: float | None = None) -> asyncpg.Pool:
    """With ``timeout_s``, a statement or a connection attempt taking longer fails with TimeoutError
    (a stalled, half-open connection is then discarded instead of waited on forever), and the server
    ends a session of ours idle in a transaction that long: one whose client is cut off by a half-open
    connection would otherwise hold its locks, and block every other writer, until the server's TCP
    keepalive noticed (hours, by default)."""
    timeouts = {} if timeout_s is None else {
        "command_timeout": timeout_s, "timeout": timeout_s,
        "server_settings": {"idle_in_transaction_session_timeout": str(round(timeout_s * 1000))}}
    return await asyncpg.create_pool(url, min_size=min_size, max_size=max_size, init=_init_connection, **timeouts)


async def connect(url: str) -> asyncpg.Connection:
    """A single connection with the same codecs as the pool (for LISTEN and migrations)."""
    conn = await asyncpg.connect(url)
    await _init_connection(conn)
    return conn


# Errors meaning "the database is unreachable, restarting, or the connection broke": worth waiting
# and retrying, on a new connection.
CONNECTION_ERRORS = (
    OSError,  # refused, reset, no route; TimeoutError (a stalled connection) is one too
    asyncpg.exceptions.PostgresConnectionError,  # SQLSTATE class 08: the connection does not exist, failed
    asyncpg.exceptions.CannotConnectNowError,  # "the database system is starting up / shutting down"
    asyncpg.exceptions.AdminShutdownError,  # pg_ctl stop -m fast or smart, a fail-over
    asyncpg.exceptions.CrashShutdownError,  # pg_ctl stop -m immediate, a crashed backend
    asyncpg.exceptions.InterfaceError,  # "the underlying connection is closed", and the like
    asyncpg.exceptions.InternalClientError,  # the driver's state broken by a connection lost mid-operation
)
# Errors that say nothing about the data: a deadlock, a cancelled query, a full disk, a read-only
# server after a fail-over. Retried like a lost connection.
TRANSIENT_ERRORS = CONNECTION_ERRORS + (
    asyncpg.exceptions.TransactionRollbackError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.InsufficientResourcesError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.exceptions.ReadOnlySQLTransactionError,
    # A lock not granted in time, or a table in the middle of a change (the event log's partitions
    # made or dropped beside the ingest): gone by the next try.
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.ObjectNotInPrerequisiteStateError,
)
# Errors that say the data itself cannot be stored: only these send events to dead_letters.
DATA_ERRORS = (asyncpg.exceptions.DataError, asyncpg.exceptions.IntegrityConstraintViolationError)
# Errors no retry can cure, with what the operator should do.
_OPERATOR_ACTIONS = (
    (asyncpg.exceptions.InvalidAuthorizationSpecificationError,
     "the database refused the credentials: check the user and password in DATABASE_URL"),
    (asyncpg.exceptions.InvalidCatalogNameError,
     "the database named in DATABASE_URL does not exist: create it, then run `callboard db migrate`"),
    ((asyncpg.exceptions.UndefinedTableError, asyncpg.exceptions.UndefinedColumnError,
      asyncpg.exceptions.UndefinedFunctionError, asyncpg.exceptions.InvalidSchemaNameError),
     "the database lacks Callboard's tables (restored from before a migration?): run `callboard db migrate`"),
    (asyncpg.exceptions.InsufficientPrivilegeError,
     "the database user lacks a privilege on Callboard's tables: grant it, or use the user that ran the migrations"),
)


def needs_operator(exc: BaseException) -> DatabaseUnusable | None:
    """The error to stop with if ``exc`` is a fault no retry can cure; None if it is not one."""
    for kinds, action in _OPERATOR_ACTIONS:
        if isinstance(exc, kinds):
            return DatabaseUnusable(f"{action} ({type(exc).__name__}: {exc})")
    return None


def may_have_broken_the_connection(exc: BaseException) -> bool:
    """Whether a connection that raised ``exc`` must be discarded: anything but an error the server
    reported about a statement (after which the connection is sound) may leave it half-broken."""
    return not isinstance(exc, asyncpg.PostgresError) or isinstance(exc, CONNECTION_ERRORS)


@contextlib.asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection from ``pool``; terminated, not returned for reuse, if it failed in a way that may
    have broken it (or the caller was cancelled in the middle of using it). A lost connection also
    retires the pool's idle ones."""
    async with pool.acquire() as conn:
        try:
            yield conn
        except BaseException as exc:
            if may_have_broken_the_connection(exc):
                with contextlib.suppress(asyncpg.InterfaceError):  # the driver may have released it already
                    conn.terminate()
            if isinstance(exc, CONNECTION_ERRORS):
                # What broke this one (a restart, a network fault) most likely broke the idle ones too:
                # replace them at their next use instead of finding each out by failing on it.
                await pool.expire_connections()
            raise


@contextlib.asynccontextmanager
async def transaction(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A connection from ``pool`` in a transaction, discarded like ``connection``'s when it fails."""
    async with connection(pool) as conn, conn.transaction():
        yield conn


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
