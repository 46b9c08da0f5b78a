"""The alert service's own small HTTP endpoint: /metrics for Prometheus, /healthz and /readyz.

The figures are this process's: alerts it raised (by kind), resolved, escalated and handed over,
and the notifications its sender delivered, retried and gave up on. Every process counts its own
share; Prometheus adds them up across instances.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .engine import AlertEngine
from .outbox import Sender
from .rules import KINDS


class AlertTelemetry:
    """The engine's and the sender's counts, turned into metrics when scraped."""

    def __init__(self, engine: AlertEngine, sender: Sender) -> None:
        self.engine, self.sender = engine, sender
        self.registry = CollectorRegistry()
        self.registry.register(self)

    def collect(self) -> Iterator[Metric]:
        counts = self.engine.counts
        raised = CounterMetricFamily("callboard_alerts_raised", "Alerts raised by this service, by kind",
                                     labels=["kind"])
        for kind in KINDS:
            raised.add_metric([kind], counts[f"raised:{kind}"])
        yield raised
        for change, meaning in (("resolved", "resolved because their cause ended"),
                                ("escalated", "escalated to the next level of the rota"),
                                ("handed_over", "passed on to whoever came on call at a hand-over")):
            yield CounterMetricFamily(f"callboard_alerts_{change}", f"Alerts {meaning}, by this service",
                                      value=counts[change])
        outcomes = self.sender.counts
        for outcome, meaning in (("sent", "taken by their receiver"),
                                 ("retried", "failed and left to be tried again"),
                                 ("dead", "given up, the reason kept"),
                                 ("lost_claim", "whose claim expired before their outcome was recorded")):
            yield CounterMetricFamily(f"callboard_alerts_notifications_{outcome}", f"Notifications {meaning}",
                                      value=outcomes[outcome])
        yield GaugeMetricFamily("callboard_alerts_listening", "1 while the engine is connected and woken by "
                                "each commit", value=int(self.engine.listening.is_set()))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


def build(telemetry: AlertTelemetry) -> Starlette:
    def status() -> dict:
        return {"engine_listening": telemetry.engine.listening.is_set(),
                "sender_listening": telemetry.sender.listening.is_set()}

    async def metrics(_request: Request) -> Response:
        return Response(telemetry.exposition(), media_type="text/plain; version=0.0.4")

    async def healthz(_request: Request) -> JSONResponse:
        """The process is up (and says whether it reaches the database)."""
        return JSONResponse({"status": "ok", **status()})

    async def readyz(_request: Request) -> JSONResponse:
        """Connected to the database, woken by each commit and by each new notification."""
        current = status()
        ready = all(current.values())
        return JSONResponse({"status": "ready" if ready else "not ready", **current}, status_code=200 if ready else 503)

    return Starlette(routes=[Route("/metrics", metrics), Route("/healthz", healthz), Route("/readyz", readyz)])


@contextlib.asynccontextmanager
async def serving(telemetry: AlertTelemetry, host: str, port: int):
    server = uvicorn.Server(uvicorn.Config(build(telemetry), host=host, port=port, log_config=None,
                                           access_log=False, lifespan="off"))
    task = asyncio.create_task(server.serve())
    try:
        yield server
    finally:
        server.should_exit = True
        await task
