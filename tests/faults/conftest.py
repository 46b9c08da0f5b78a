"""Fixtures of the fault suite: the embedded server it may stop, running again after every test."""

from __future__ import annotations

import asyncio

import pytest

from ..conftest import start_postgres


@pytest.fixture
async def postgres(postgres_server, database_url):
    """The embedded server's handle, which these tests stop and start; running again afterwards
    (before the test's database is dropped)."""
    _, server = postgres_server
    if server is None:
        pytest.skip("needs the embedded server, which the test can stop and start")
    yield server
    if not await asyncio.to_thread(is_running, server):
        await asyncio.to_thread(start_postgres, server)


def is_running(server) -> bool:
    return (server.pgdata / "postmaster.pid").exists()


@pytest.fixture
def ingest_log(tmp_path):
    """Where the ingest process of a test logs (kept with the test's temporary files)."""
    return tmp_path / "ingest.log"
