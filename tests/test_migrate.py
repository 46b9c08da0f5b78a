"""The migration runner: in order, once, recorded, safe to run twice and concurrently."""

from __future__ import annotations

import asyncio
import re

import pytest

from db.exceptions import MigrationError
from db.migrate import applied_versions, available, migrate
from db.pool import connect


async def test_fresh_database_gets_every_migration_recorded(database_url):
    conn = await connect(database_url)
    try:
        assert await applied_versions(conn) == {m.version for m in available()}
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
        assert {"event_log", "dead_letters", "calls", "hold_events", "agent_states", "complaints", "surveys",
                "agent_days", "agent_day_counts", "stale_days", "alerts", "alert_events", "notifications",
                "queue_members", "event_log_days_erased"} <= tables
    finally:
        await conn.close()


async def test_running_again_applies_nothing(database_url):
    conn = await connect(database_url)
    try:
        assert await migrate(conn) == []
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_migration_once(database_url, tmp_path):
    (tmp_path / "0001_first.sql").write_text("CREATE TABLE first_table (x int); SELECT pg_sleep(0.3);")
    (tmp_path / "0002_second.sql").write_text("INSERT INTO first_table VALUES (1);")
    conns = [await connect(database_url) for _ in range(3)]
    try:
        await conns[0].execute("DELETE FROM schema_migrations")
        results = await asyncio.gather(*(migrate(c, tmp_path) for c in conns))
        assert sorted(len(r) for r in results) == [0, 0, 2]
        assert await conns[0].fetchval("SELECT count(*) FROM first_table") == 1
    finally:
        for c in conns:
            await c.close()


async def test_failed_migration_is_rolled_back_and_named(database_url, tmp_path):
    (tmp_path / "0001_good.sql").write_text("CREATE TABLE good_table (x int);")
    (tmp_path / "0002_bad.sql").write_text("CREATE TABLE half_done (x int); SELECT no_such_column FROM good_table;")
    conn = await connect(database_url)
    try:
        await conn.execute("DELETE FROM schema_migrations")
        with pytest.raises(MigrationError, match="0002_bad.sql"):
            await migrate(conn, tmp_path)
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert await applied_versions(conn) == {1}
    finally:
        await conn.close()


def test_misnamed_migration_file_is_refused(tmp_path):
    (tmp_path / "first.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_words.sql"):
        available(tmp_path)


async def test_alert_events_accept_every_change_the_alerts_make_and_no_other(database_url):
    from alerts.messages import CHANGES

    conn = await connect(database_url)
    try:
        check = await conn.fetchval("SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                    "WHERE conname = 'alert_events_change_check'")
        assert sorted(re.findall(r"'(\w+)'", check)) == sorted(CHANGES)
        assert await conn.fetchval("SELECT count(*) FROM information_schema.columns "
                                   "WHERE table_name = 'alerts' AND column_name = 'handed_over_at'") == 1
    finally:
        await conn.close()
