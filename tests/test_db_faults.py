"""What the database layer does with each kind of fault: discard broken connections, name the cure."""

from __future__ import annotations

import asyncpg
import pytest

from db.exceptions import DatabaseUnusable
from db.pool import TRANSIENT_ERRORS, connection, needs_operator, transaction


async def test_a_connection_killed_mid_transaction_is_discarded_and_the_next_one_works(pool):
    async with pool.acquire() as admin:
        with pytest.raises(TRANSIENT_ERRORS):
            async with transaction(pool) as conn:
                pid = await conn.fetchval("SELECT pg_backend_pid()")
                await admin.execute("SELECT pg_terminate_backend($1)", pid)  # as a restart or fail-over would
                await conn.fetchval("SELECT 1")
        async with transaction(pool) as conn:  # no stale connection is handed out
            assert await conn.fetchval("SELECT pg_backend_pid()") != pid


async def test_an_error_about_a_statement_keeps_the_connection(pool):
    with pytest.raises(asyncpg.DivisionByZeroError):
        async with connection(pool) as conn:
            pid = await conn.fetchval("SELECT pg_backend_pid()")
            await conn.fetchval("SELECT 1 / 0")
    async with connection(pool) as conn:
        assert await conn.fetchval("SELECT pg_backend_pid()") == pid


async def test_a_missing_table_needs_an_operator_and_says_to_migrate(pool):
    with pytest.raises(asyncpg.UndefinedTableError) as raised:
        async with connection(pool) as conn:
            await conn.fetchval("SELECT count(*) FROM no_such_table")
    unusable = needs_operator(raised.value)
    assert isinstance(unusable, DatabaseUnusable) and "run `callboard db migrate`" in str(unusable)


def test_faults_retrying_cures_need_no_operator():
    assert needs_operator(asyncpg.exceptions.CannotConnectNowError("the database system is starting up")) is None
    assert needs_operator(asyncpg.exceptions.InternalClientError("cannot switch to state 15")) is None
