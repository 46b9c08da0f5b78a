"""What the ingest reports about itself: Prometheus metrics, one registry per service.

Figures counted per event (tens of thousands a second) are plain integers and bucket counts,
turned into metrics only when scraped; a prometheus_client metric object costs microseconds per
update, which at that rate is a large share of the ingest's CPU.
"""

from __future__ import annotations

import bisect
import collections
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric

from .protocol import Event, Rejected

_LAG_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600)


class _PerEventFigures:
    """Events received by type and the ts-to-commit lag histogram, exposed at scrape time."""

    def __init__(self) -> None:
        self.received_by_type: collections.Counter[str] = collections.Counter()
        self.lag_counts = [0] * (len(_LAG_BUCKETS) + 1)  # the last one is +Inf
        self.lag_sum = 0.0

    def observe_lags(self, lags: Iterable[float]) -> None:
        counts = self.lag_counts
        for lag in lags:
            counts[bisect.bisect_left(_LAG_BUCKETS, lag)] += 1
            self.lag_sum += lag

    def collect(self) -> Iterator[Metric]:
        received = CounterMetricFamily("callboard_ingest_events_received", "Events received from the feed, by type",
                                       labels=["type"])
        for event_type, count in sorted(self.received_by_type.items()):
            received.add_metric([event_type], count)
        yield received
        cumulative, buckets = 0, []
        for bound, count in zip([*map(str, _LAG_BUCKETS), "+Inf"], self.lag_counts, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily("callboard_ingest_lag_seconds", "From an event's ts to its commit",
                                    buckets=buckets, sum_value=self.lag_sum)


class IngestTelemetry:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self._per_event = _PerEventFigures()
        r.register(self._per_event)
        self.written = Counter("callboard_ingest_events_written", "Events stored for the first time, by type",
                               ["type"], registry=r)
        self.duplicates = Counter("callboard_ingest_events_duplicate", "Events received again and not stored twice",
                                  registry=r)
        self.dead_lettered = Counter("callboard_ingest_dead_lettered", "Input rejected into dead_letters, by kind",
                                     ["kind"], registry=r)
        self.batch_size = Histogram("callboard_ingest_batch_events", "Events per transaction", registry=r,
                                    buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000))
        self.commit_seconds = Histogram("callboard_ingest_commit_seconds", "Time to write one batch", registry=r,
                                        buckets=_LAG_BUCKETS)
        self.reconnects = Counter("callboard_ingest_reconnects", "Feed connections lost and retried", registry=r)
        self.feed_connected = Gauge("callboard_ingest_feed_connected", "1 while the feed is connected", registry=r)
        self.database_up = Gauge("callboard_ingest_database_up", "1 while the last write succeeded", registry=r)
        self.waiting_messages = Gauge("callboard_ingest_waiting_messages", "Messages received, not yet written",
                                      registry=r)
        self.journaled = Counter("callboard_ingest_journaled_messages", "Messages held in the on-disk journal "
                                 "because the database could not take them", registry=r)
        self.journal_bytes = Gauge("callboard_ingest_journal_bytes", "Bytes in the journal, not yet in the database",
                                   registry=r)
        self.last_commit = Gauge("callboard_ingest_last_commit_timestamp_seconds", "When the last batch committed",
                                 registry=r)
        self.is_feed_connected = False
        self.is_database_up = False
        # What the feed's source wants operators to know (ingest/sources.py), read when asked.
        self.source_note: Callable[[], str | None] = lambda: None

    def feed_status(self, connected: bool) -> None:
        if self.is_feed_connected and not connected:
            self.reconnects.inc()
        self.is_feed_connected = connected
        self.feed_connected.set(int(connected))

    def database_status(self, up: bool) -> None:
        self.is_database_up = up
        self.database_up.set(int(up))

    def on_received(self, events: Iterable[Event]) -> None:
        received = self._per_event.received_by_type
        for event in events:
            received[event.type] += 1

    def on_journaled(self, journal_bytes: int) -> None:
        self.journaled.inc()
        self.journal_bytes.set(journal_bytes)

    def on_journal_written(self, journal_bytes: int) -> None:
        self.journal_bytes.set(journal_bytes)

    def on_committed(self, events: list[Event], stored_by_type: dict[str, int], duplicates: int,
                     rejects: Iterable[Rejected], seconds: float) -> None:
        now = datetime.now(UTC)
        for event_type, count in stored_by_type.items():
            self.written.labels(event_type).inc(count)
        self.duplicates.inc(duplicates)
        for reject in rejects:
            self.dead_lettered.labels(reject.kind).inc()
        self.batch_size.observe(len(events))
        self.commit_seconds.observe(seconds)
        self._per_event.observe_lags(max(0.0, (now - event.ts).total_seconds()) for event in events)
        self.database_status(True)
        self.last_commit.set(time.time())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
