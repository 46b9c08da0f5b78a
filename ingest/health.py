"""The ingest's own small HTTP endpoint: /metrics for Prometheus, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import contextlib

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .telemetry import IngestTelemetry


def build(telemetry: IngestTelemetry) -> Starlette:
    def status() -> dict:
        return {"feed_connected": telemetry.is_feed_connected, "database_up": telemetry.is_database_up}

    async def metrics(_request: Request) -> Response:
        return Response(telemetry.exposition(), media_type="text/plain; version=0.0.4")

    async def healthz(_request: Request) -> JSONResponse:
        """The process is up (and says how its feed and database are)."""
        return JSONResponse({"status": "ok", **status()})

    async def readyz(_request: Request) -> JSONResponse:
        """Receiving from the feed and writing to the database."""
        current = status()
        ready = current["feed_connected"] and current["database_up"]
        return JSONResponse({"status": "ready" if ready else "not ready", **current}, status_code=200 if ready else 503)

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz), Route("/readyz", readyz)])


@contextlib.asynccontextmanager
async def serving(telemetry: IngestTelemetry, host: str, port: int):
    server = uvicorn.Server(uvicorn.Config(build(telemetry), host=host, port=port, log_config=None,
                                           access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        yield server
    finally:
        server.should_exit = True
        await task
