"""A local Asterisk Manager Interface for tests: a small scripted PBX with queues, spoken over TCP
as Asterisk does and through a JSON-over-websocket bridge.

The server keeps the queues' members and waiting callers, answers Login, Ping and QueueStatus from
them, and its call-flow methods change them and send the events Asterisk sends, in Asterisk's
order (apps/app_queue.c), each with a ``Timestamp`` from the server's own clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time

from websockets.asyncio.server import serve

BANNER = b"Asterisk Call Manager/9.0.0\r\n"


def ami_text(headers: dict[str, str]) -> bytes:
    return ("".join(f"{key}: {value}\r\n" for key, value in headers.items()) + "\r\n").encode()


class AmiServer:
    def __init__(self, *, username: str = "callboard", secret: str = "s3cret", timestamps: bool = True,
                 shows_channels: bool = True) -> None:
        self.username = username
        self.secret = secret
        self.timestamps = timestamps
        self.shows_channels = shows_channels  # does the user's permission allow CoreShowChannels?
        self.channels: set[str] = set()  # callers' and agents' channels up now, by Uniqueid
        self.clock = time.time()  # advanced by the scripts, never set back
        self.members: dict[str, dict[str, dict[str, str]]] = {}  # queue -> interface -> member headers
        self.entries: dict[str, dict[str, dict[str, str]]] = {}  # queue -> uniqueid -> caller
        self.answered: dict[str, tuple[dict[str, str], float]] = {}  # uniqueid -> (its entry, answered at)
        self.logins = 0
        self.login_attempts = 0
        self.silent = False  # a half-open connection: nothing answered, nothing sent
        self.sent: list[dict[str, str]] = []  # every event, as sent
        self.queue_status_asked = 0
        self.channels_asked = 0  # CoreShowChannels answered: the last action of a (re)connect's rebuild
        self.unanswered: list[str] = []  # actions ignored while silent
        self._clients: dict[object, asyncio.Queue[dict[str, str] | str | None]] = {}
        self._servers: list = []
        self._tasks: set[asyncio.Task] = set()
        self._agent_channels = itertools.count(1)

    # --- serving -------------------------------------------------------------------------------

    async def start_tcp(self) -> int:
        server = await asyncio.start_server(self._tcp_client, "127.0.0.1", 0)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def start_bridge(self) -> int:
        server = await serve(self._bridge_client, "127.0.0.1", 0)
        self._servers.append(server)
        return server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        self.cut()
        for server in self._servers:
            server.close()
            await server.wait_closed()

    def cut(self) -> None:
        """Drop every client connection, as a network fault or an Asterisk restart would."""
        for outbox in self._clients.values():
            outbox.put_nowait(None)

    @property
    def connected(self) -> int:
        return len(self._clients)

    async def _tcp_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(BANNER)

        async def send(headers: dict[str, str] | str) -> None:
            writer.write(headers.encode() if isinstance(headers, str) else ami_text(headers))
            await writer.drain()

        async def receive() -> dict[str, str] | None:
            headers: dict[str, str] = {}
            while True:
                line = await reader.readline()
                if not line:
                    return None
                if not line.strip():
                    if headers:
                        return headers
                    continue
                key, _, value = line.decode().partition(":")
                headers[key.strip()] = value.strip()

        try:
            await self._converse(send, receive)
        finally:
            writer.close()

    async def _bridge_client(self, ws) -> None:
        async def send(headers: dict[str, str] | str) -> None:
            await ws.send(headers if isinstance(headers, str) else json.dumps(headers))

        async def receive() -> dict[str, str] | None:
            try:
                return json.loads(await ws.recv())
            except Exception:
                return None

        await self._converse(send, receive)

    async def _converse(self, send, receive) -> None:
        outbox: asyncio.Queue[dict[str, str] | str | None] = asyncio.Queue()
        key = object()

        async def pump() -> None:
            while (headers := await outbox.get()) is not None:
                await send(headers)

        pumping = asyncio.create_task(pump())
        reading = asyncio.create_task(self._answer(receive, outbox, key))
        try:
            await asyncio.wait({pumping, reading}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self._clients.pop(key, None)
            for task in (pumping, reading):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.gather(pumping, reading)

    async def _answer(self, receive, outbox: asyncio.Queue, key: object) -> None:
        logged_in = False
        while (action := await receive()) is not None:
            if self.silent and logged_in:
                self.unanswered.append(action.get("Action", ""))
                continue
            reply = {"Response": "Success", "ActionID": action.get("ActionID", "")}
            name = action.get("Action")
            if name == "Login":
                self.login_attempts += 1
                if action.get("Username") == self.username and action.get("Secret") == self.secret:
                    logged_in = True
                    self.logins += 1
                    outbox.put_nowait({**reply, "Message": "Authentication accepted"})
                    outbox.put_nowait({"Event": "FullyBooted", "Privilege": "system,all", "Status": "Fully Booted"})
                    self._clients[key] = outbox
                else:
                    outbox.put_nowait({**reply, "Response": "Error", "Message": "Authentication failed"})
            elif not logged_in:
                outbox.put_nowait({**reply, "Response": "Error", "Message": "Permission denied"})
            elif name == "Ping":
                outbox.put_nowait({**reply, "Ping": "Pong", "Timestamp": f"{time.time():.6f}"})
            elif name == "CoreShowChannels":
                self.channels_asked += 1
                if not self.shows_channels:
                    outbox.put_nowait({**reply, "Response": "Error", "Message": "Permission denied"})
                    continue
                outbox.put_nowait({**reply, "EventList": "start", "Message": "Channels will follow"})
                for uid in sorted(self.channels):
                    outbox.put_nowait({"Event": "CoreShowChannel", **self._caller(uid), "ActionID": reply["ActionID"]})
                outbox.put_nowait({"Event": "CoreShowChannelsComplete", "EventList": "Complete",
                                   "ListItems": str(len(self.channels)), "ActionID": reply["ActionID"]})
            elif name == "QueueStatus":
                self.queue_status_asked += 1
                for message in self._queue_status(reply):
                    outbox.put_nowait(message)
            else:
                outbox.put_nowait({**reply, "Response": "Error", "Message": "Invalid/unknown command"})

    def _queue_status(self, reply: dict[str, str]) -> list[dict[str, str]]:
        action_id = reply["ActionID"]
        out = [{**reply, "EventList": "start", "Message": "Queue status will follow"}]
        for queue in sorted(set(self.members) | set(self.entries)):
            entries = self.entries.get(queue, {})
            out.append({"Event": "QueueParams", "Queue": queue, "Max": "0", "Strategy": "ringall",
                        "Calls": str(len(entries)), "ActionID": action_id})
            for member in self.members.get(queue, {}).values():
                out.append({"Event": "QueueMember", "Queue": queue, "Name": member["MemberName"],
                            "Location": member["Interface"], "StateInterface": member["Interface"],
                            "Membership": "dynamic", "Penalty": "0", "InCall": member["InCall"],
                            "Status": member["Status"], "Paused": member["Paused"],
                            "PausedReason": member["PausedReason"], "ActionID": action_id})
            for position, entry in enumerate(entries.values(), 1):
                out.append({"Event": "QueueEntry", "Queue": queue, "Position": str(position),
                            "Channel": entry["Channel"], "Uniqueid": entry["Uniqueid"],
                            "CallerIDNum": entry["CallerIDNum"], "Wait": _seconds(entry["joined"], self.clock),
                            "ActionID": action_id})
        out.append({"Event": "QueueStatusComplete", "EventList": "Complete", "ListItems": str(len(out) - 1),
                    "ActionID": action_id})
        return out

    # --- the scripted PBX ----------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.clock += seconds

    async def send(self, headers: dict[str, str]) -> None:
        """Send one event to every client logged in, stamped with the server's clock."""
        if self.timestamps:
            headers = {"Event": headers["Event"], "Privilege": "agent,all", "Timestamp": f"{self.clock:.6f}",
                       **{k: v for k, v in headers.items() if k != "Event"}}
        self.sent.append(headers)
        await self.repeat(headers)

    async def repeat(self, headers: dict[str, str]) -> None:
        """Send an event as it is (one sent before, to send it twice)."""
        for outbox in self._clients.values():
            outbox.put_nowait(headers)

    async def send_raw(self, text: str) -> None:
        """Text as it is, to every client (for input that is not AMI)."""
        for outbox in self._clients.values():
            outbox.put_nowait(text)

    def silently_add_member(self, queue: str, interface: str, name: str) -> None:
        self.members.setdefault(queue, {})[interface] = {
            "Queue": queue, "Interface": interface, "MemberName": name, "StateInterface": interface,
            "InCall": "0", "Status": "1", "Paused": "0", "PausedReason": ""}

    async def add_member(self, queue: str, interface: str, name: str) -> None:
        self.silently_add_member(queue, interface, name)
        await self.send({"Event": "QueueMemberAdded", **self.members[queue][interface]})

    async def remove_member(self, queue: str, interface: str) -> None:
        member = self.members[queue].pop(interface)
        await self.send({"Event": "QueueMemberRemoved", **member})

    async def pause(self, queue: str, interface: str, reason: str = "", paused: bool = True) -> None:
        member = self.members[queue][interface]
        member.update(Paused="1" if paused else "0", PausedReason=reason if paused else "")
        await self.send({"Event": "QueueMemberPause", **member})

    async def _member_status(self, interface: str, *, in_call: bool) -> None:
        for members in self.members.values():
            if interface in members:
                members[interface].update(InCall="1" if in_call else "0", Status="2" if in_call else "1")
                await self.send({"Event": "QueueMemberStatus", **members[interface]})

    def silently_join(self, queue: str, uid: str, number: str) -> None:
        self.channels.add(uid)
        self.entries.setdefault(queue, {})[uid] = {"Channel": f"PJSIP/trunk-{uid}", "Uniqueid": uid,
                                                   "CallerIDNum": number, "joined": self.clock}

    def _caller(self, uid: str) -> dict[str, str]:
        return {"Channel": f"PJSIP/trunk-{uid}", "Uniqueid": uid, "Linkedid": uid}

    async def join(self, queue: str, uid: str, number: str) -> None:
        self.silently_join(queue, uid, number)
        await self.send({"Event": "QueueCallerJoin", **self._caller(uid), "CallerIDNum": number, "Queue": queue,
                         "Position": str(len(self.entries[queue])), "Count": str(len(self.entries[queue]))})

    async def _leave(self, queue: str, uid: str) -> dict[str, str]:
        entry = self.entries[queue].pop(uid)
        await self.send({"Event": "QueueCallerLeave", **self._caller(uid), "Queue": queue, "Position": "1",
                         "Count": str(len(self.entries[queue]))})
        return entry

    async def connect(self, queue: str, uid: str, interface: str) -> str:
        """The member answers; the agent's channel's Uniqueid."""
        entry = await self._leave(queue, uid)
        agent_uid = f"{uid}.agent{next(self._agent_channels)}"
        member = self.members[queue][interface]
        await self.send({"Event": "AgentConnect", **self._caller(uid), "CallerIDNum": entry["CallerIDNum"],
                         "DestChannel": f"{interface}-{agent_uid}", "DestUniqueid": agent_uid, "DestLinkedid": uid,
                         "Queue": queue, "Interface": interface, "MemberName": member["MemberName"],
                         "HoldTime": _seconds(entry["joined"], self.clock), "RingTime": "2"})
        self.answered[uid] = (entry, self.clock)
        self.channels.add(agent_uid)
        await self._member_status(interface, in_call=True)
        return agent_uid

    async def hold(self, channel_uid: str, linkedid: str, *, on: bool = True) -> None:
        await self.send({"Event": "Hold" if on else "Unhold", "Channel": f"PJSIP/phone-{channel_uid}",
                         "Uniqueid": channel_uid, "Linkedid": linkedid, "MusicClass": "default"})

    async def complete(self, queue: str, uid: str, interface: str, agent_uid: str, reason: str) -> None:
        member = self.members[queue][interface]
        entry, answered = self.answered.pop(uid)
        await self.send({"Event": "AgentComplete", **self._caller(uid), "CallerIDNum": entry["CallerIDNum"],
                         "DestUniqueid": agent_uid, "Queue": queue, "Interface": interface,
                         "MemberName": member["MemberName"], "HoldTime": _seconds(entry["joined"], answered),
                         "TalkTime": _seconds(answered, self.clock), "Reason": reason})
        self.channels.discard(agent_uid)  # the agent's leg hangs up: the call ended or went elsewhere
        await self._member_status(interface, in_call=False)

    async def hangup(self, uid: str) -> None:
        self.channels.discard(uid)
        await self.send({"Event": "Hangup", **self._caller(uid), "Cause": "16", "Cause-txt": "Normal Clearing"})

    async def caller_hangs_up_waiting(self, queue: str, uid: str) -> None:
        await self.send({"Event": "QueueCallerAbandon", **self._caller(uid), "Queue": queue, "Position": "1",
                         "OriginalPosition": "1", "HoldTime": "20"})
        await self._leave(queue, uid)
        await self.hangup(uid)

    async def caller_times_out(self, queue: str, uid: str) -> None:
        """The queue's timeout: Asterisk says QueueCallerAbandon too, then the dialplan goes on."""
        await self.send({"Event": "QueueCallerAbandon", **self._caller(uid), "Queue": queue, "Position": "1",
                         "OriginalPosition": "1", "HoldTime": "300"})
        await self._leave(queue, uid)
        await self.send({"Event": "VarSet", **self._caller(uid), "Variable": "QUEUESTATUS", "Value": "TIMEOUT"})


def _seconds(start: float, end: float) -> str:
    """A duration as app_queue gives it: the difference of two whole-second clocks (time_t), which may
    be up to a second more or less than the time that passed."""
    return str(int(end) - int(start))
