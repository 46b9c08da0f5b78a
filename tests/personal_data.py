"""Customers' numbers and names for the tests that show they go nowhere they must not, a feed that
sends them, and how to find them in what was shown, sent or logged."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta

# Callers' numbers as feeds write them: with spaces, dashes and brackets, or none.
CALLERS = ["+86 138 0013 8001", "+8613900139002", "(020) 7946-0958", "+44 20 7946 0004", "13700137005",
           "+1 (415) 555-0106"]
# Complaints' customers: names in Latin and Chinese letters, and one given as a phone number.
CUSTOMERS = ["Wang Xiuying", "欧阳娜娜", "Margaret O'Brien", "+86 150 0015 0011"]
# Agents are staff, named on the wall; their names are not customers'.
AGENTS = {"a1": "Chloe Jones", "a2": "王芳", "a3": "Oluwaseun Adebayo"}


class Feed:
    """A feed on loopback (serve ``serve`` with websockets) that sends whatever the test gives it,
    numbered, once."""

    def __init__(self) -> None:
        self._outbox: asyncio.Queue[str] = asyncio.Queue()
        self._seq = 0

    def send(self, events: list[dict]) -> None:
        numbered = []
        for event in events:
            self._seq += 1
            numbered.append({"id": f"e{self._seq}", "seq": self._seq, **event})
        self._outbox.put_nowait(json.dumps(numbered, ensure_ascii=False))

    def send_raw(self, message: str) -> None:
        self._outbox.put_nowait(message)

    async def serve(self, websocket) -> None:
        await websocket.recv()  # the resume request: everything is sent once, in order
        sending = asyncio.create_task(self._send_forever(websocket))
        await websocket.wait_closed()
        sending.cancel()

    async def _send_forever(self, websocket) -> None:
        while True:
            await websocket.send(await self._outbox.get())


def floor_events(now: datetime, first: int) -> list[dict]:
    """Calls (some abandoned, one on hold) from CALLERS, complaints of CUSTOMERS (half of them
    overdue) taken by the AGENTS; call and complaint ids numbered from ``first``."""
    def ago(seconds: float) -> str:
        return (now - timedelta(seconds=seconds)).isoformat()
    events: list[dict] = [{"type": "agent.state", "ts": ago(900), "agent": agent, "name": name, "team": "Blue",
                           "state": "on_call"} for agent, name in AGENTS.items()]
    for n, caller in enumerate(CALLERS, start=first):
        events.append({"type": "call.queued", "ts": ago(600 - n), "call_id": f"c{n}", "queue": "billing",
                       "caller": caller})
        if n % 3 == 0:
            events += [{"type": "call.answered", "ts": ago(500 - n), "call_id": f"c{n}", "agent": "a1"},
                       {"type": "call.hold_started", "ts": ago(90), "call_id": f"c{n}", "agent": "a1"}]
        else:
            events.append({"type": "call.abandoned", "ts": ago(400 - n), "call_id": f"c{n}"})
    for n, customer in enumerate(CUSTOMERS, start=first):
        events.append({"type": "complaint.opened", "ts": ago(3000), "complaint_id": f"k{n}", "agent": "a2",
                       "call_id": f"c{n}", "customer": customer,
                       "due": (now + timedelta(minutes=10 * n - 20)).isoformat()})
    return events


def _joined(text: str) -> str:
    """``text`` with the separators a phone number is written with taken out from between digits."""
    return re.sub(r"(?<=\d)[ ()\-.]+(?=\d)", "", text)


def numbers_in_sight(text: str) -> list[str]:
    """Every run of 5 or more digits in ``text``, however a phone number is written; clock times,
    dates, decimals, ids, hashes and JSON's numbers (``2026-11-23``, ``17:49:30.102``, ``40.5``, a
    UUID, ``"interval": 30000``) are no one's phone number (the ingest takes a number only as text) and
    are left out first."""
    text = re.sub(r"(?<=[:\[,])-?\d+(?=[,\]}])", " ", _without_times_and_ids(text))  # JSON's numbers: no one's text
    return re.findall(r"\d{5,}", _joined(text))


def _without_times_and_ids(text: str) -> str:
    """``text`` without what is written in digits and is no one's phone number: ids, hashes,
    decimals (durations), dates and clock times."""
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", " ", text)  # a page's id
    text = re.sub(r"[0-9a-f]{32,}", " ", text)  # a hash (of a callback's outputs)
    text = re.sub(r"\d+\.\d+", " ", text)
    return re.sub(r"\d{4}-\d\d-\d\d|\d\d:\d\d(:\d\d)?", " ", text)


def personal_data_in(text: str) -> list[str]:
    """The customers' numbers (more of one than its last 4 digits) and names found in ``text``; the
    digits of ids, durations, dates and times are left out first, so that they cannot match by chance."""
    joined = _joined(_without_times_and_ids(text))
    numbers = [n for n in CALLERS + CUSTOMERS if re.sub(r"\D", "", n)[-5:] in joined and n[-1].isdigit()]
    names = [name for name in CUSTOMERS if name in text or json.dumps(name)[1:-1] in text]
    return numbers + names
