"""Asterisk's queue_log, as app_queue writes it or as its realtime table is exported; gzip accepted.

Two forms, told apart line by line by the first field:

- the file (``/var/log/asterisk/queue_log``): ``epoch|callid|queue|agent|VERB|data1|data2|...``;
- the realtime table (``queue_log`` in MySQL or PostgreSQL, which Asternic and QueueMetrics read),
  exported with ``|``, tabs or ``,`` between fields: ``time|callid|queuename|agent|event|data1|...|data5``,
  the time like ``2025-03-01 09:15:02.123456``: in ``zone`` (Asterisk writes local time unless
  ``queue_log_realtime_use_gmt`` is on), or with an offset if the export writes one. A first line
  naming the columns (``time`` or ``time_id``, ``callid`` or ``call_id``, ``queuename`` or
  ``queue``, ``agent``, ``event`` or ``verb``, ``data`` or ``data1``...) sets their order, so an
  export with more columns (QueueMetrics' ``partition``, ``serverid``) is read too.

Each line becomes one protocol event (docs/integrations.md, "Asterisk queue_log history", has the
table), with an id made from the line's bytes (importing twice stores each once; the same line
again within its second is an event of its own) and the line in its ``source``. Each visit of a
caller to a queue is a call: ``call_id`` is ``callid@queue``. The translated event goes through
:func:`~ingest.protocol.parse_event`, the live feed's own checks.
Housekeeping verbs are skipped; any other verb the table does not name, and any line that cannot
be read, is a dead letter whose reason starts with its line number.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import orjson

from ingest.exceptions import ImportUnreadable
from ingest.protocol import Event, Rejected, parse_event

from . import Chunk, Lines, open_history

SYSTEM = "asterisk-queue_log"

# Verbs with nothing the floor's figures use (docs/integrations.md says why each): skipped, not dead letters,
# so that the dead letters hold only what someone should look at.
SKIPPED_VERBS = frozenset({
    "QUEUESTART", "CONFIGRELOAD", "INFO", "DID", "PENALTY",  # the PBX's housekeeping, no call or agent changes
    "RINGNOANSWER", "RINGCANCELED", "AGENTDUMP", "SYSCOMPAT",  # a member's phone not taken: the caller waits on
    # Who takes a queue's calls now is the live source's to say (queue.members, the latest wins): history
    # never announces it, and the log, which never names static members, could not say it whole.
    "ADDMEMBER", "REMOVEMEMBER",
})

# A header's column names, for the columns the translation reads; "data" columns follow in their order.
_COLUMN_NAMES = {
    "time": ("time", "time_id"), "callid": ("callid", "call_id"), "queue": ("queuename", "queue"),
    "agent": ("agent",), "verb": ("event", "verb"),
}
_DATA_COLUMNS = ("data", "data1", "data2", "data3", "data4", "data5")
_ABSENT = ("", "NONE")


class _Untranslatable(Exception):
    """A line whose verb is known but whose fields say too little: its message is the reason."""


def read_chunks(path: Path, events_per_chunk: int, zone: tzinfo = UTC) -> Iterator[Chunk]:
    """The file's events and rejects, about ``events_per_chunk`` events at a time, in file order;
    timestamps without an offset are read in ``zone``."""
    translator = Translator(zone)
    lines_file, raw = open_history(path)
    with raw, lines_file:
        events, rejects = [], []
        first, number, skipped = 1, 0, 0
        lines = Lines(lines_file)
        for number, line in lines:
            line = line.rstrip(b"\r\n")
            if not line.strip():
                continue
            outcome = translator.translate(number, line)
            if outcome is None:
                skipped += 1
            elif type(outcome) is Event:
                events.append(outcome)
                if len(events) >= events_per_chunk:
                    yield Chunk(events, rejects, first, number, raw.tell(), skipped)
                    events, rejects, first, skipped = [], [], number + 1, 0
            else:
                rejects.append(outcome)
        yield Chunk(events, rejects, first, number, raw.tell(), skipped)
        lines.check_whole()


class Translator:
    """Turns queue_log lines, in file order, into protocol events."""

    def __init__(self, zone: tzinfo) -> None:
        self._zone = zone
        self._split: Callable[[str], list[str]] | None = None  # chosen by the first line
        self._order: list[int] | None = None  # time, callid, queue, agent, verb's positions, when a header named them
        self._data: slice | list[int] = []  # and the data's
        self._columns = 0  # how many the header named
        # The last epoch read, as a datetime and in RFC 3339 (a second's lines come together).
        self._second: tuple[str, datetime | None, str] = ("", None, "")
        # The lines read so far in the last line's second, with how many times each was read.
        self._repeats_when = ""
        self._repeats: dict[bytes, int] = {}
        self._verbs: dict[str, Callable[[str, str, str, list[str]], dict[str, Any]]] = {
            "ENTERQUEUE": self._enter_queue,
            "CONNECT": self._connect,
            "COMPLETECALLER": lambda c, q, a, d: self._ended(c, q, a, "customer"),
            "COMPLETEAGENT": lambda c, q, a, d: self._ended(c, q, a, "agent"),
            "ABANDON": self._abandon,
            "EXITWITHTIMEOUT": lambda c, q, a, d: self._left_unanswered(c, q, "queue_timeout"),
            "EXITEMPTY": lambda c, q, a, d: self._left_unanswered(c, q, "queue_empty"),
            "EXITWITHKEY": lambda c, q, a, d: self._left_unanswered(c, q, "queue_exit_key"),
            "BLINDTRANSFER": lambda c, q, a, d: self._ended(c, q, a, "system", "blind_transfer"),
            "TRANSFER": lambda c, q, a, d: self._ended(c, q, a, "system", "blind_transfer"),
            "ATTENDEDTRANSFER": lambda c, q, a, d: self._ended(c, q, a, "system", "attended_transfer"),
            "CALLERONHOLD": lambda c, q, a, d: self._hold(c, q, a, "call.hold_started"),
            "CALLEROFFHOLD": lambda c, q, a, d: self._hold(c, q, a, "call.hold_ended"),
            "AGENTLOGIN": lambda c, q, a, d: self._agent_state(a, "available"),
            "AGENTCALLBACKLOGIN": lambda c, q, a, d: self._agent_state(a, "available"),
            "AGENTLOGOFF": lambda c, q, a, d: self._agent_state(a, "logged_out"),
            "AGENTCALLBACKLOGOFF": lambda c, q, a, d: self._agent_state(a, "logged_out"),
            "PAUSE": lambda c, q, a, d: self._agent_state(a, "not_ready", d[0] if d else ""),
            "PAUSEALL": lambda c, q, a, d: self._agent_state(a, "not_ready", d[0] if d else ""),
            "UNPAUSE": lambda c, q, a, d: self._agent_state(a, "available"),
            "UNPAUSEALL": lambda c, q, a, d: self._agent_state(a, "available"),
        }

    def translate(self, number: int, line: bytes) -> Event | Rejected | None:
        """Line ``number``'s event, its dead letter, or None for a line skipped on purpose."""
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejected("not_utf8", f"line {number}: not valid UTF-8 ({exc.reason} at byte {exc.start})",
                            line.decode("utf-8", errors="replace"))
        if self._split is None:
            self._split = _splitter(text)
            if self._read_header(text):
                return None
        fields = self._split(text)
        if self._order is not None:
            if len(fields) < self._columns:
                return Rejected("not_an_event", f"line {number}: {len(fields)} fields where the header "
                                                f"names {self._columns}", text)
            fields = self._reordered(fields)
        elif fields[0] and not fields[0].isdigit():  # an export of the table may pad its columns
            fields = [field.strip() for field in fields]
        if len(fields) < 5:
            return Rejected("not_an_event", f"line {number}: a queue_log line has at least 5 fields "
                                            f"(time|callid|queue|agent|event), this one has {len(fields)}", text)
        when, callid, queue, agent, verb = fields[:5]
        make = self._verbs.get(verb)
        if make is None:
            if verb in SKIPPED_VERBS:
                return None
            return Rejected("unknown_type", f"line {number}: queue_log verb {verb!r} is not one Callboard "
                                            "translates (docs/integrations.md)", text)
        try:
            at, ts = self._timestamp(when)
        except ValueError as exc:
            return Rejected("bad_timestamp", f"line {number}: {verb}: {exc}", text)
        try:
            body = make(callid, queue, agent, fields[5:])
        except _Untranslatable as exc:
            return Rejected("schema", f"line {number}: {verb}: {exc}", text)
        item = {"id": self._line_id(when, line), "type": body["type"], "ts": ts, **body,
                "source": {"system": SYSTEM, "event": text}}
        outcome = parse_event(item, orjson.dumps(item).decode(), "\x00" in text, written_from=at)
        if type(outcome) is Rejected:
            return Rejected(outcome.kind, f"line {number}: {outcome.reason}", outcome.raw, outcome.event_id)
        return outcome

    def _line_id(self, when: str, line: bytes) -> str:
        """The line's event id (:func:`_event_id`), with ``~n`` after it for the n-th time the same
        line comes within its second: the log has whole seconds, so a caller put on hold twice in one
        second gives two identical lines, two events. Counted among the lines of one second in a row,
        as the file has them: reading the same file again gives the same ids."""
        if when != self._repeats_when:
            self._repeats_when, self._repeats = when, {}
        seen = self._repeats.get(line, 0) + 1
        self._repeats[line] = seen
        return _event_id(when, line) if seen == 1 else f"{_event_id(when, line)}~{seen}"

    def _read_header(self, text: str) -> bool:
        """Take the columns' order from a first line naming them; whether it was one."""
        names = [name.strip().lower() for name in self._split(text)]
        if "event" not in names and "verb" not in names:
            return False
        order = []
        for column, spellings in _COLUMN_NAMES.items():
            found = [names.index(name) for name in spellings if name in names]
            if not found:
                raise ImportUnreadable(f"the first line names columns but none for the {column} "
                                       f"({' or '.join(spellings)}): {text!r}")
            order.append(found[0])
        data = [names.index(name) for name in _DATA_COLUMNS if name in names]
        # Data columns that end the line take every field from the first on: split at "|" too, a single
        # "data" column (as older realtime tables have) holds them all.
        trailing = data == list(range(len(names) - len(data), len(names)))
        self._data = slice(data[0], None) if data and trailing else data
        self._order, self._columns = order, len(names)
        return True

    def _reordered(self, fields: list[str]) -> list[str]:
        """The fields in the file form's order, from a line of a file whose header named its columns."""
        data = fields[self._data] if isinstance(self._data, slice) else [fields[i] for i in self._data]
        return [fields[i].strip() for i in self._order] + [part.strip() for part in "|".join(data).split("|")]

    def _timestamp(self, when: str) -> tuple[datetime, str]:
        """The line's time, and as RFC 3339 text."""
        if when == self._second[0]:
            return self._second[1], self._second[2]
        if when.isdigit():
            at = datetime.fromtimestamp(int(when), UTC)
            self._second = (when, at, at.isoformat())
            return at, self._second[2]
        try:
            if len(when) < 19 or when[10] not in " T":
                raise ValueError
            value = datetime.fromisoformat(when)
        except ValueError:
            raise ValueError(f"{when!r} is neither seconds since 1970 nor a time like "
                             "2025-03-01 09:15:02.123456") from None
        at = value if value.tzinfo else value.replace(tzinfo=self._zone)
        return at, at.isoformat()

    # One method per kind of line: each returns the event's type and fields.

    def _enter_queue(self, callid: str, queue: str, agent: str, data: list[str]) -> dict[str, Any]:
        caller = data[1] if len(data) > 1 and data[1] else "unknown"  # what Asterisk writes for no number
        return {"type": "call.queued", "call_id": _call_id(callid, queue), "queue": queue, "caller": caller}

    def _connect(self, callid: str, queue: str, agent: str, data: list[str]) -> dict[str, Any]:
        return {"type": "call.answered", "call_id": _call_id(callid, queue), "agent": _named(agent, "agent")}

    def _abandon(self, callid: str, queue: str, agent: str, data: list[str]) -> dict[str, Any]:
        return {"type": "call.abandoned", "call_id": _call_id(callid, queue)}

    def _ended(self, callid: str, queue: str, agent: str, released_by: str,
               disposition: str | None = None) -> dict[str, Any]:
        body = {"type": "call.ended", "call_id": _call_id(callid, queue), "agent": _named(agent, "agent"),
                "released_by": released_by}
        if disposition:
            body["disposition"] = disposition
        return body

    def _left_unanswered(self, callid: str, queue: str, disposition: str) -> dict[str, Any]:
        """Not an abandon: the caller did not hang up (docs/metrics.md), so the call ends unanswered."""
        return {"type": "call.ended", "call_id": _call_id(callid, queue), "released_by": "system",
                "disposition": disposition}

    def _hold(self, callid: str, queue: str, agent: str, kind: str) -> dict[str, Any]:
        return {"type": kind, "call_id": _call_id(callid, queue), "agent": _named(agent, "agent")}

    def _agent_state(self, agent: str, state: str, reason: str = "") -> dict[str, Any]:
        body = {"type": "agent.state", "agent": _named(agent, "agent"), "state": state}
        if reason:
            body["reason"] = reason
        return body


def _event_id(when: str, line: bytes) -> str:
    """The line's time, then a hash of its bytes: ids of a history's lines come in about the order of
    time, so the event log's index of ids grows at its end, as with a feed's own ids."""
    return f"ql-{when}-{hashlib.blake2b(line, digest_size=10).hexdigest()}"


def _call_id(callid: str, queue: str) -> str:
    """Each visit of a caller (its channel's unique id) to a queue is one call."""
    return f"{_named(callid, 'callid')}@{_named(queue, 'queue')}"


def _named(value: str, what: str) -> str:
    if value in _ABSENT:
        raise _Untranslatable(f"the line names no {what}")
    return value


def _splitter(first_line: str) -> Callable[[str], list[str]]:
    """``|`` between fields, as Asterisk writes them; else tabs (``mysql -B``); else a CSV export's commas
    (with its quoting)."""
    if "|" in first_line:
        return lambda text: text.split("|")
    if "\t" in first_line:
        return lambda text: text.split("\t")
    if "," in first_line:
        return lambda text: next(csv.reader([text]))
    return lambda text: text.split("|")
