"""Write batches of events: the event log, dead letters and derived floor state, in one transaction,
which ends by announcing the rows it touched to the dashboards (db/changes.py); an import's writer
leaves that to the import (ingest/backfill.py)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Iterable
from datetime import UTC, datetime, timedelta

import asyncpg

from db.changes import Touched, announce_floor
from db.pool import transaction
from db.queries import QUERIES

from .partitions import PARTITIONED_BY_TIME, make_partitions
from .protocol import Event, Rejected

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclasses.dataclass(frozen=True, slots=True)
class Received:
    """What one websocket message brought, stamped with when it arrived."""

    received_at: datetime
    events: list[Event]
    rejects: list[Rejected]


@dataclasses.dataclass(frozen=True, slots=True)
class WriteResult:
    stored: int
    duplicates: int
    dead_lettered: int
    stored_by_type: dict[str, int]
    batch_seq: int | None  # the highest seq in the batch


class EventWriter:
    """Writes batches of one feed. An importer's writer (``keeps_resume_point=False``) stores history
    without moving the feed's resume point or marking the feed alive, which stay the live ingest's;
    and with ``announces=False`` its batches are not announced (the importer announces them itself)."""

    def __init__(self, pool: asyncpg.Pool, feed: str, *, keeps_resume_point: bool = True,
                 announces: bool = True) -> None:
        self._pool = pool
        self._feed = feed
        self._keeps_resume_point = keeps_resume_point
        self._announces = announces

    async def write(self, batch: Iterable[Received],
                    resume_after: Callable[[int | None], int | None] | None = None) -> WriteResult:
        """Write ``batch`` in one transaction.

        The feed's resume point stored with it is the batch's highest seq, or what
        ``resume_after`` makes of that when other batches are being written at the same time.
        A batch with events of a day the log has no partition for yet has it made, and is written again.
        """
        unique: dict[str, tuple[datetime, Event]] = {}
        rejects: list[tuple[datetime, Rejected]] = []
        seen = 0
        for received in batch:
            seen += len(received.events)
            for event in received.events:
                unique.setdefault(event.id, (received.received_at, event))
            rejects.extend((received.received_at, reject) for reject in received.rejects)
        try:
            return await self._write(unique, rejects, seen, resume_after)
        except asyncpg.CheckViolationError as exc:
            if not _lacks_partition(exc):
                raise
        await make_partitions(self._pool, (event.ts.astimezone(UTC).date() for _, event in unique.values()))
        return await self._write(unique, rejects, seen, resume_after)

    async def _write(self, unique: dict[str, tuple[datetime, Event]], rejects: list[tuple[datetime, Rejected]],
                     seen: int, resume_after: Callable[[int | None], int | None] | None) -> WriteResult:
        async with transaction(self._pool) as conn:
            stored_by_type = await self._append(conn, list(unique.values()))
            if stored_by_type:
                await conn.execute(QUERIES["ingest.apply_derived_state"])
            if rejects:
                await self._dead_letter(conn, rejects)
            seqs = [event.seq for _, event in unique.values() if event.seq is not None]
            batch_seq = max(seqs, default=None)
            if self._keeps_resume_point:
                resume_seq = batch_seq if resume_after is None else resume_after(batch_seq)
                await conn.execute(QUERIES["ingest.record_commit"], self._feed, resume_seq)
            stored = sum(stored_by_type.values())
            if self._announces and (stored or rejects or self._keeps_resume_point):
                touched = touched_keys(self._feed, unique.values() if stored else ())
                await announce_floor(conn, {"feed": self._feed, "stored": stored_by_type,
                                            "dead_lettered": len(rejects)}, touched)
        return WriteResult(stored, seen - stored, len(rejects), stored_by_type, batch_seq)

    async def dead_letter_calls_never_queued(self, after_s: float) -> list[str]:
        """Move the events of calls never queued within ``after_s`` seconds to dead_letters."""
        async with transaction(self._pool) as conn:
            await conn.execute(QUERIES["ingest.keep_days_open"])
            rows = await conn.fetch(QUERIES["ingest.dead_letter_calls_never_queued"], after_s, self._feed)
            if rows:
                await announce_floor(conn, {"feed": self._feed, "dead_lettered_calls": len(rows)},
                                     Touched(self._feed, calls=[row["call_id"] for row in rows]))
        return [row["call_id"] for row in rows]

    async def _append(self, conn: asyncpg.Connection, items: list[tuple[datetime, Event]]) -> dict[str, int]:
        """Append the new events to the log, stage them for the derived state and count them by type.

        The events travel as their own JSON text, joined into one array: PostgreSQL reads their
        fields from it far faster than the driver could send them one array per field. Their seqs
        and times, already parsed, travel as array literals, which cost half the CPU of the
        driver's encoding of lists.
        """
        if not items:
            return {}
        await conn.execute(QUERIES["ingest.create_staging"])
        us_of_receipt = {received_at: (received_at - _EPOCH) // _MICROSECOND for received_at in {r for r, _ in items}}
        rows = await conn.fetch(
            QUERIES["ingest.append_events"],
            self._feed,
            "[" + ",".join([event.raw for _, event in items]) + "]",
            _bigint_array_literal([event.seq for _, event in items]),
            _bigint_array_literal([(event.ts - _EPOCH) // _MICROSECOND for _, event in items]),
            _bigint_array_literal([us_of_receipt[received_at] for received_at, _ in items]),
        )
        return {row["type"]: row["events"] for row in rows}

    async def _dead_letter(self, conn: asyncpg.Connection, rejects: list[tuple[datetime, Rejected]]) -> None:
        await conn.execute(
            QUERIES["ingest.insert_dead_letters"],
            self._feed,
            [received_at for received_at, _ in rejects],
            [r.kind for _, r in rejects],
            [r.reason for _, r in rejects],
            [r.event_id for _, r in rejects],
            # PostgreSQL text cannot hold NUL characters; keep everything else verbatim.
            [r.raw.replace("\x00", "\\u0000") for _, r in rejects],
        )


# A batch of more events than this (history being imported, a feed catching up) is not announced
# row by row: every dashboard reads the whole day again (db/changes.py).
KEYS_GATHERED_UP_TO_EVENTS = 2000


def touched_keys(feed: str, items: Collection[tuple[datetime, Event]]) -> Touched | None:
    """The keys of the rows the batch ``items`` may have changed (calls, complaints, agents, whether
    queue members), or None for a batch too big to announce row by row."""
    if len(items) > KEYS_GATHERED_UP_TO_EVENTS:
        return None
    calls, complaints, agents, members = set(), set(), set(), False
    for _, event in items:
        body = event.body
        if body.get("call_id") is not None:
            calls.add(body["call_id"])
        if event.type.startswith("complaint."):
            complaints.add(body["complaint_id"])
        elif event.type == "agent.state":
            agents.add(body["agent"])
        elif event.type == "queue.members":
            members = True
    return Touched(feed, sorted(calls), sorted(complaints), sorted(agents), members)


def _bigint_array_literal(values: list[int | None]) -> str:
    """The PostgreSQL array literal of ``values`` (None: NULL)."""
    return "{" + ",".join(["NULL" if value is None else str(value) for value in values]) + "}"


def _lacks_partition(exc: asyncpg.CheckViolationError) -> bool:
    """A table partitioned by time has no partition for a row: a check violation on the table
    itself, not on one of its constraints (the server names the table whatever the language of its
    messages)."""
    return (getattr(exc, "table_name", None) in PARTITIONED_BY_TIME
            and getattr(exc, "constraint_name", None) is None)
