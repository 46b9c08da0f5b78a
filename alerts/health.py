"""The alert service's own small HTTP endpoint: /metrics for Prometheus, /healthz and /readyz.

The figures are this process's: alerts it raised (by kind), resolved, escalated and handed over,
and the notifications its sender delivered, retried and gave up on. Every process counts its own
share; Prometheus adds them up across instances.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator

import uvicorn
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from callboard import health

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


@contextlib.asynccontextmanager
async def serving(telemetry: AlertTelemetry, host: str, port: int) -> AsyncIterator[uvicorn.Server]:
    """Ready while the engine is woken by each commit and the sender by each new notification."""
    def status() -> dict[str, bool]:
        return {"engine_listening": telemetry.engine.listening.is_set(),
                "sender_listening": telemetry.sender.listening.is_set()}

    async with health.serving(telemetry.exposition, status, host, port) as server:
        yield server
