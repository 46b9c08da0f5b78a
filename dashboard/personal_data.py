"""Customers' numbers and names on the pages and the API, whole for the roles that may see them.

The live snapshot is one for every open page, the wall's among them: it carries a caller's number
masked and a complaint's customer not at all (dashboard/data.py). The pages that show them (the
floor view and the Alerts page, :data:`dashboard.views.PAGES_WITH_PERSONAL_DATA`), the floor
view's drill-down and the JSON API read them here, for the calls and complaints they show, and
show them as the holder's role allows (access/roles.py): whole, or masked by callboard/privacy.py.
The wall's view never asks.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from callboard import privacy
from db.pool import CONNECTION_ERRORS
from db.queries import QUERIES

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (feed, call id) or (feed, complaint id)


@dataclass(frozen=True)
class Found:
    """The callers' numbers and complaints' customers read, by key; None where none is kept."""

    callers: Mapping[Key, str | None] = field(default_factory=dict)
    customers: Mapping[Key, str | None] = field(default_factory=dict)


def complaint_of_alert(alert: Mapping[str, Any]) -> Key | None:
    """The complaint an alert is about (its subject is ``<feed>/<complaint id>``), if it names a customer."""
    feed, slash, complaint_id = alert["subject"].partition("/")
    return (feed, complaint_id) if alert.get("customer") and slash else None


def snapshot_keys(snapshot: Mapping[str, Any]) -> tuple[list[Key], list[Key]]:
    """The calls and complaints of a live snapshot whose caller or customer a page may show."""
    calls = [(a["feed"], a["call_id"]) for a in snapshot["abandoned_calls"]]
    complaints = [(c["feed"], c["complaint_id"]) for c in snapshot["complaints_open"]]
    complaints += [key for alert in snapshot.get("alerts_open", []) if (key := complaint_of_alert(alert))]
    return calls, complaints


def _alert_shown(alert: dict[str, Any], customers: Mapping[Key, str | None], full: bool) -> dict[str, Any]:
    """A callback alert with its complaint's customer as found, whole if ``full`` else masked; as
    it was (masked when raised) if not found."""
    key = complaint_of_alert(alert)
    if key is None or not customers.get(key):
        return alert
    return {**alert, "customer": privacy.shown_customer(customers[key], full=full)}


def with_personal_data(snapshot: dict[str, Any], found: Found, *, full: bool) -> dict[str, Any]:
    """``snapshot`` with its abandoned calls' callers, its open complaints' customers and its
    callback alerts' customers as ``found``, whole if ``full`` else masked. What was not found
    (the database did not answer) stays as the snapshot has it: masked, or none."""
    return {
        **snapshot,
        "abandoned_calls": [{**a, "caller": privacy.shown_number(found.callers.get((a["feed"], a["call_id"]),
                                                                                   a["caller"]), full=full)}
                            for a in snapshot["abandoned_calls"]],
        "complaints_open": [{**c, "customer": privacy.shown_customer(found.customers.get((c["feed"],
                                                                                          c["complaint_id"])),
                                                                     full=full)}
                            for c in snapshot["complaints_open"]],
        "alerts_open": [_alert_shown(row, found.customers, full) for row in snapshot.get("alerts_open", [])],
    }


class PersonalData:
    """Reads customers' numbers and names for the pages and the API; one per dashboard process."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._version: int | None = None
        self._read: asyncio.Task[Found] | None = None

    async def callers(self, calls: Iterable[Key]) -> dict[Key, str | None]:
        """The caller's number of each of ``calls`` that is stored (None once erased)."""
        feeds, ids = _columns(calls)
        if not feeds:
            return {}
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(QUERIES["privacy.callers_of_calls"], feeds, ids)
        return {(r["feed"], r["call_id"]): r["caller"] for r in rows}

    async def customers(self, complaints: Iterable[Key]) -> dict[Key, str | None]:
        """The customer of each of ``complaints`` that is stored (None once erased)."""
        feeds, ids = _columns(complaints)
        if not feeds:
            return {}
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(QUERIES["privacy.customers_of_complaints"], feeds, ids)
        return {(r["feed"], r["complaint_id"]): r["customer"] for r in rows}

    async def shown_alerts(self, alerts: list[dict[str, Any]], *, full: bool) -> list[dict[str, Any]]:
        """``alerts`` with their complaints' customers, whole if ``full`` else masked."""
        customers = await self.customers(key for alert in alerts if (key := complaint_of_alert(alert)))
        return [_alert_shown(alert, customers, full) for alert in alerts]

    async def of_snapshot(self, snapshot: Mapping[str, Any]) -> Found:
        """What a snapshot's pages may show of its calls' and complaints' customers; nothing found
        if the database does not answer (the pages then show what the snapshot has)."""
        calls, complaints = snapshot_keys(snapshot)
        try:
            return Found(await self.callers(calls), await self.customers(complaints))
        except CONNECTION_ERRORS:
            logger.debug("customers' data not read: the database cannot be reached",
                         extra={"action": "personal_data_unread"})
            return Found()

    async def of_version(self, version: int, snapshot: Mapping[str, Any]) -> Found:
        """As :meth:`of_snapshot`, read once per snapshot version for every page that asks."""
        if self._read is None or version != self._version:
            self._version = version
            self._read = asyncio.create_task(self.of_snapshot(snapshot))
        return await asyncio.shield(self._read)


def _columns(keys: Iterable[Key]) -> tuple[list[str], list[str]]:
    unique = sorted(set(keys))
    return [feed for feed, _ in unique], [key for _, key in unique]
