"""Faults no retry can cure stop the ingest at once, with a log line that says what to do."""

from __future__ import annotations

import asyncpg

from db.pool import recreate_database, with_database

from .stack import ingest_process


async def test_a_database_without_the_schema_stops_the_ingest_saying_to_migrate(postgres_server, ingest_log):
    admin_url, _ = postgres_server
    url = await recreate_database(admin_url, "callboard_faults_unmigrated")  # as after a bad restore
    try:
        async with ingest_process(url, "ws://127.0.0.1:9/", ingest_log) as ingest:
            assert await ingest.exited(30) == 2
    finally:
        admin = await asyncpg.connect(admin_url)
        await admin.execute("DROP DATABASE callboard_faults_unmigrated WITH (FORCE)")
        await admin.close()
    assert "run `callboard db migrate`" in ingest.log()


async def test_a_missing_database_stops_the_ingest_saying_to_create_it(postgres_server, ingest_log):
    admin_url, _ = postgres_server
    async with ingest_process(with_database(admin_url, "no_such_callboard"), "ws://127.0.0.1:9/",
                              ingest_log) as ingest:
        assert await ingest.exited(30) == 2
    assert "does not exist: create it" in ingest.log()
