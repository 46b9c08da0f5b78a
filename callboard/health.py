"""The small HTTP endpoint of an always-on service (the ingest, the alert service): /metrics for
Prometheus, /healthz (the process is up, and how its parts are) and /readyz (200 only while every
part is well, 503 otherwise). A status maps each part to whether it is well; a text beside them is a
note for the operator, shown by both and not judged."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

Status = Callable[[], dict[str, bool | str]]


def build(exposition: Callable[[], bytes], status: Status) -> Starlette:
    async def metrics(_request: Request) -> Response:
        return Response(exposition(), media_type="text/plain; version=0.0.4")

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok", **status()})

    async def readyz(_request: Request) -> JSONResponse:
        current = status()
        ready = all(well for well in current.values() if isinstance(well, bool))
        return JSONResponse({"status": "ready" if ready else "not ready", **current}, status_code=200 if ready else 503)

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz), Route("/readyz", readyz)])


@contextlib.asynccontextmanager
async def serving(exposition: Callable[[], bytes], status: Status, host: str,
                  port: int) -> AsyncIterator[uvicorn.Server]:
    """Serve the endpoint on ``host``:``port`` until the block ends."""
    server = uvicorn.Server(uvicorn.Config(build(exposition, status), host=host, port=port, log_config=None,
                                           access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        yield server
    finally:
        server.should_exit = True
        await task
