"""Least privilege in PostgreSQL (`callboard db grant`): each part, logged in as its own user, can do
what it needs and nothing more; the ingest runs as its role with events flowing."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest
from websockets.asyncio.server import serve

from access.audit import prune_before
from alerts import outbox
from db.grants import ROLES, login_user
from db.pool import connect, create_pool
from db.queries import QUERIES

from .conftest import timeout, wait_for
from .live_stack import running_ingest, settings_for_test
from .personal_data import CALLERS, Feed, floor_events

PASSWORD = "correct horse battery staple"


def as_user(url: str, user: str) -> str:
    """``url`` logging in as ``user`` (with PASSWORD) instead."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"{user}:{PASSWORD.replace(' ', '%20')}@{parts.hostname or ''}"
                                            + (f":{parts.port}" if parts.port else "")))


@pytest.fixture
def granted(database_url, tmp_path):
    """`callboard db grant` run twice (it is safe to run again), with a login user for every role."""
    files = []
    for role in ROLES:
        path = tmp_path / f"{role}.password"
        path.write_text(PASSWORD + "\n")
        files += [f"--{role.removeprefix('callboard_')}-password-file", str(path)]
    env = {**os.environ, "DATABASE_URL": database_url}
    for _ in range(2):
        result = subprocess.run([sys.executable, "-m", "callboard", "db", "grant", *files], env=env,
                                capture_output=True, text=True, timeout=timeout(60))
        assert result.returncode == 0, result.stderr
    assert "login user callboard_dashboard_login ready" in result.stdout
    return database_url


async def test_the_dashboard_reads_everything_and_writes_only_its_own_tables(granted, pool):
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        change = await outbox.raise_alert(conn, kind="feed_down", subject="feed:pbx", at=now, details={},
                                          recipients=[])
    dashboard = await connect(as_user(granted, login_user("callboard_dashboard")))
    try:
        assert await dashboard.fetchval("SELECT count(*) FROM calls") == 0
        assert await dashboard.fetchval("SELECT count(*) FROM event_log") == 0
        # It acknowledges alerts ...
        async with dashboard.transaction():
            assert await outbox.acknowledge(dashboard, change.alert_id, by="li-wei", at=now) is not None
        # ... and cannot write the event log, the floor's tables, or read the key of the callers' hashes.
        for statement in (
                "INSERT INTO event_log (feed, event_id, type, ts, received_at, body) "
                "VALUES ('pbx', 'e1', 'call.abandoned', now(), now(), '{}')",
                "DELETE FROM event_log", "UPDATE calls SET caller = NULL", "DELETE FROM dead_letters",
                "SELECT key FROM caller_hash_key", "CREATE TABLE mine (n int)", "DROP TABLE alerts"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await dashboard.execute(statement)
    finally:
        await dashboard.close()


async def test_the_dashboard_ends_sessions_forgets_failures_and_prunes_the_audit_log_as_its_role(granted, pool):
    long_ago = datetime.now(UTC) - timedelta(days=400)
    await pool.execute("INSERT INTO audit_log (at, actor, action) VALUES ($1, 'li.na', 'sign_in')", long_ago)
    await pool.execute("INSERT INTO sign_in_failures (at, user_name, address) VALUES ($1, 'li.na', '127.0.0.1')",
                       long_ago)
    dashboard = await create_pool(as_user(granted, login_user("callboard_dashboard")), min_size=1, max_size=1)
    try:
        assert await prune_before(dashboard, datetime.now(UTC) - timedelta(days=365)) == 1
        async with dashboard.acquire() as conn:
            for query, args in (("auth.forget_sign_in_failures", [datetime.now(UTC)]),
                                ("auth.drop_expired_sessions", [datetime.now(UTC)]),
                                ("auth.end_session", [b"no such session"])):
                await conn.execute(QUERIES[query], *args)
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.execute("DELETE FROM alerts")
    finally:
        await dashboard.close()
    assert await pool.fetchval("SELECT count(*) FROM audit_log") == 0
    assert await pool.fetchval("SELECT count(*) FROM sign_in_failures") == 0


async def test_db_migrate_gives_a_table_made_since_the_grant_its_owner_and_privileges(granted, pool):
    # As a migration run as a superuser would, after `callboard db grant` had run.
    await pool.execute("CREATE TABLE next_release_facts (n int)")
    result = subprocess.run([sys.executable, "-m", "callboard", "db", "migrate"],
                            env={**os.environ, "DATABASE_URL": granted}, capture_output=True, text=True,
                            timeout=timeout(60))
    assert result.returncode == 0, result.stderr
    assert "roles' owners and privileges set again" in result.stdout
    assert await pool.fetchval("SELECT pg_get_userbyid(relowner) FROM pg_class "
                               "WHERE relname = 'next_release_facts'") == "callboard_migrator"
    dashboard = await connect(as_user(granted, login_user("callboard_dashboard")))
    ingest = await connect(as_user(granted, login_user("callboard_ingest")))
    try:
        assert await dashboard.fetchval("SELECT count(*) FROM next_release_facts") == 0
        await ingest.execute("INSERT INTO next_release_facts VALUES (1)")  # a telephony fact: the ingest's
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await dashboard.execute("INSERT INTO next_release_facts VALUES (2)")
    finally:
        await dashboard.close()
        await ingest.close()


async def test_db_migrate_by_a_user_that_may_not_grant_migrates_and_leaves_the_privileges(granted, pool):
    migrator = as_user(granted, login_user("callboard_migrator"))
    result = subprocess.run([sys.executable, "-m", "callboard", "db", "migrate"],
                            env={**os.environ, "DATABASE_URL": migrator}, capture_output=True, text=True,
                            timeout=timeout(60))
    assert result.returncode == 0, result.stderr
    assert "set again" not in result.stdout and "run `callboard db grant` as a superuser" in result.stderr


async def test_the_alert_service_writes_alerts_and_not_the_floor(granted):
    alerts = await connect(as_user(granted, login_user("callboard_alerts")))
    try:
        async with alerts.transaction():
            assert await outbox.raise_alert(alerts, kind="feed_down", subject="feed:pbx", at=datetime.now(UTC),
                                            details={}, recipients=[]) is not None
        for statement in ("UPDATE complaints SET callback_at = now()", "DELETE FROM event_log"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await alerts.execute(statement)
    finally:
        await alerts.close()


async def test_the_ingest_runs_as_its_role_with_events_flowing(granted, pool):
    feed = Feed()
    feed.send(floor_events(datetime.now(UTC), first=1))
    url = as_user(granted, login_user("callboard_ingest"))
    async with (serve(feed.serve, "127.0.0.1", 0) as server,
                running_ingest(url, f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}", "pbx",
                               settings_for_test(CALLBOARD_KEEP_PERSONAL_DATA_DAYS="30"))):
        await wait_for(lambda: _calls(pool, len(CALLERS)), 30, "the calls stored by the ingest's role")
    ingest = await connect(url)
    try:
        # The days' tables it made are its role's, whoever logs in for it; alerts are not its to write.
        owners = {r["owner"] for r in await ingest.fetch(
            "SELECT pg_get_userbyid(c.relowner) AS owner FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'event_log'::regclass")}
        assert owners == {"callboard_ingest"}
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await ingest.execute("DELETE FROM alerts")
    finally:
        await ingest.close()


async def _calls(pool, count: int) -> bool:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT count(*) FROM calls") >= count


async def test_the_migrator_changes_the_schema_the_event_log_included(granted):
    migrator = await connect(as_user(granted, login_user("callboard_migrator")))
    try:
        tr = migrator.transaction()
        await tr.start()
        await migrator.execute("CREATE TABLE next_release (n int)")
        await migrator.execute("ALTER TABLE calls ADD COLUMN next_release int")
        await migrator.execute("ALTER TABLE event_log ADD COLUMN next_release int")
        await tr.rollback()
    finally:
        await migrator.close()
