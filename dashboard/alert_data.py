"""The dashboard's door to the alerts: what the Alerts page, the API and an acknowledge link read,
and the acknowledgements and resolutions people make there (through :mod:`alerts.outbox`, so a
double click or two supervisors at once change an alert once).

Every alert is shown in one shape (:func:`alert_view`): its state, who acknowledged or resolved it
and when, the queue, agent and customer (masked) it is about, and each notification about it with
its outcome: ``sent``, ``waiting`` (attempts, next attempt, last error) or ``dead`` (the reason).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Mapping
from datetime import UTC, datetime, tzinfo
from typing import Any

import asyncpg

from alerts import config as alerts_config
from alerts import outbox
from alerts.exceptions import AlertsError
from alerts.rota import Recipient
from callboard.privacy import mask_customer
from callboard.settings import Settings
from db.queries import QUERIES

logger = logging.getLogger(__name__)

# The Alerts page and the API list at most this many alerts of the history at once.
HISTORY_PAGE = 50
ACTIONS = ("acknowledge", "resolve")
STATES = ("open", "acknowledged", "resolved")


def _moment(value: datetime | str | None, zone: tzinfo) -> str | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(zone).isoformat()


class PeopleNames:
    """The rota's names for the people alerts go to (``li-wei`` -> ``Li Wei``), read again whenever the
    rota file (``CALLBOARD_ROTA``) changes. Someone it does not name, or a rota that cannot be read
    (logged once per change of the file), is shown by the key the outbox recorded."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._stamp: tuple[int, int] | None = None  # the file's modification time and size when read
        self._names: dict[str, str] = {}

    def names(self) -> Mapping[str, str]:
        settings = self._settings
        if settings is None or settings.rota is None:
            return self._names
        try:
            found = os.stat(settings.rota)
            stamp = found.st_mtime_ns, found.st_size
        except OSError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._names = self._read(settings)
        return self._names

    @staticmethod
    def _read(settings: Settings) -> dict[str, str]:
        try:
            _, rota = alerts_config.load(settings)
        except AlertsError as exc:
            logger.warning("the on-call rota cannot be read; alerts show people by their rota key",
                           extra={"action": "rota_unreadable", "error": str(exc)})
            return {}
        return {key: person.name for key, person in rota.people.items()} if rota else {}


def notification_view(n: Mapping[str, Any], zone: tzinfo, names: Mapping[str, str]) -> dict[str, Any]:
    status = "sent" if n["sent_at"] else "dead" if n["dead_at"] else "waiting"
    return {"recipient": n["recipient"], "recipient_name": names.get(n["recipient"], n["recipient"]),
            "channel": n["channel"], "change": n["change"], "level": n["level"],
            "created_at": _moment(n["created_at"], zone), "status": status, "attempts": n["attempts"],
            "sent_at": _moment(n["sent_at"], zone), "dead_at": _moment(n["dead_at"], zone),
            "next_attempt_at": _moment(n["next_attempt_at"], zone) if status == "waiting" else None,
            "last_error": n["last_error"]}


def alert_view(row: Mapping[str, Any], zone: tzinfo, names: Mapping[str, str]) -> dict[str, Any]:
    """One alert as the pages and the API show it, times in the site's zone, people by their names."""
    details = row["details"] or {}
    return {
        "id": row["id"], "kind": row["kind"], "subject": row["subject"], "state": row["state"],
        "level": row["level"], "raised_at": _moment(row["raised_at"], zone),
        "acknowledged_at": _moment(row["acknowledged_at"], zone), "acknowledged_by": row["acknowledged_by"],
        "resolved_at": _moment(row["resolved_at"], zone), "resolved_by": row["resolved_by"],
        "queue": details.get("queue"), "agent": details.get("agent"),
        "customer": mask_customer(details.get("customer")), "due_at": _moment(details.get("due_at"), zone),
        "notifications": [notification_view(n, zone, names) for n in row["notifications"]],
    }


@dataclasses.dataclass(frozen=True)
class HistoryFilter:
    """Which alerts of the history to list: raised in [start, end), optionally in one state, of one
    kind, about one queue; ``limit`` of them from the ``offset``-th on, newest first."""

    start: datetime
    end: datetime
    state: str | None = None
    kind: str | None = None
    queue: str | None = None
    limit: int = HISTORY_PAGE
    offset: int = 0


@dataclasses.dataclass(frozen=True)
class Outcome:
    """What an acknowledge or resolve did: ``changed`` False when the alert was already in that state
    (or further on), or does not exist (``alert`` None)."""

    changed: bool
    alert: dict[str, Any] | None


@dataclasses.dataclass(frozen=True)
class LinkTarget:
    """The notification an acknowledge link names: to whom (their name on the rota), in what language,
    and its alert now."""

    recipient: str
    language: str | None
    alert: dict[str, Any]


class AlertData:
    def __init__(self, pool: asyncpg.Pool, zone: tzinfo, people: PeopleNames | None = None) -> None:
        self._pool = pool
        self._zone = zone
        self._people = people or PeopleNames()

    def _view(self, row: Mapping[str, Any]) -> dict[str, Any]:
        return alert_view(row, self._zone, self._people.names())

    async def open_alerts(self) -> list[dict[str, Any]]:
        rows = await self._pool.fetch(QUERIES["alert_views.open_alerts"])
        return [self._view(row) for row in rows]

    async def alert(self, alert_id: int) -> dict[str, Any] | None:
        row = await self._pool.fetchrow(QUERIES["alert_views.alert"], alert_id)
        return self._view(row) if row else None

    async def history(self, chosen: HistoryFilter) -> dict[str, Any]:
        rows = await self._pool.fetch(QUERIES["alert_views.history"], chosen.state, chosen.kind, chosen.queue,
                                      chosen.start, chosen.end, chosen.limit, chosen.offset)
        matching = rows[0]["matching"] if rows else 0
        if not rows and chosen.offset:  # past the end: count without the page
            counted = await self._pool.fetch(QUERIES["alert_views.history"], chosen.state, chosen.kind,
                                             chosen.queue, chosen.start, chosen.end, 1, 0)
            matching = counted[0]["matching"] if counted else 0
        return {"from": _moment(chosen.start, self._zone), "to": _moment(chosen.end, self._zone),
                "matching": matching, "offset": chosen.offset,
                "alerts": [self._view(row) for row in rows]}

    async def act(self, alert_id: int, action: str, by: str, at: datetime | None = None,
                  signed_in: str | None = None) -> Outcome:
        """Acknowledge or resolve alert ``alert_id`` as ``by``; everyone notified about it so far hears so.

        A change made is audited as done by ``signed_in`` (who holds the session or token), else by ``by``.
        """
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {ACTIONS}, not {action!r}")
        at = at or datetime.now(UTC)
        change = outbox.acknowledge if action == "acknowledge" else outbox.resolve
        async with self._pool.acquire() as conn:
            recipients = [Recipient(r["recipient"], r["channel"], r["address"], r["language"])
                          for r in await conn.fetch(QUERIES["alert_views.alert_recipients"], alert_id)]
            changed = await change(conn, alert_id, by=by, at=at, recipients=recipients)
            if changed is not None:
                await conn.execute(QUERIES["auth.audit"], signed_in or by, f"alert_{action}d",
                                   f"alert {alert_id} as {by}", None)
        # who acted is kept with the alert, never logged
        logger.info("alert changed by a person" if changed else "alert already changed; nothing done",
                    extra={"action": f"alert_{action}", "alert": alert_id, "changed": changed is not None})
        return Outcome(changed is not None, await self.alert(alert_id))

    async def link_target(self, notification_id: int) -> LinkTarget | None:
        row = await self._pool.fetchrow(QUERIES["alert_views.notification_alert"], notification_id)
        if row is None:
            return None
        alert = await self.alert(row["alert_id"])
        name = self._people.names().get(row["recipient"], row["recipient"])
        return LinkTarget(name, row["language"], alert) if alert else None
