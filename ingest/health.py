"""The ingest's own small HTTP endpoint: /metrics for Prometheus, /healthz and /readyz (ready while
receiving from the feed and writing to the database)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import uvicorn

from callboard import health

from .telemetry import IngestTelemetry


@contextlib.asynccontextmanager
async def serving(telemetry: IngestTelemetry, host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    def status() -> dict[str, bool | str]:
        current: dict[str, bool | str] = {"feed_connected": telemetry.is_feed_connected,
                                          "database_up": telemetry.is_database_up}
        if note := telemetry.source_note():
            current["source_note"] = note
        return current

    async with health.serving(telemetry.exposition, status, host, port) as server:
        yield server
