"""AMI framing and the two ways to reach it: plain TCP (``tcp://host:5038``) and a websocket bridge
(``ws://``, ``wss://``) that carries each AMI message as one JSON object of its headers.

On TCP, Asterisk first sends a banner line (``Asterisk Call Manager/x.y``); after it every message,
in either direction, is ``Key: Value`` lines ended by ``\\r\\n``, with a blank line ending the
message.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Protocol
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed

from .exceptions import AmiConnectionLost, AmiProtocolError

Headers = dict[str, str]

BANNER_PREFIX = b"Asterisk Call Manager/"
# Longest line read; AMI lines are short, a longer one means the peer is not speaking AMI.
MAX_LINE_BYTES = 1 * 2**20
DEFAULT_PORT = 5038


def encode(headers: Headers) -> bytes:
    """One AMI message: ``Key: Value`` lines and the blank line that ends it."""
    lines = []
    for key, value in headers.items():
        if any(c in key + value for c in "\r\n") or ":" in key:
            raise ValueError(f"AMI header {key!r} cannot hold a line break (or a colon in its name)")
        lines.append(f"{key}: {value}\r\n")
    return ("".join(lines) + "\r\n").encode()


def decode(block: str) -> Headers:
    """The headers of one message's lines (without the blank line); :class:`AmiProtocolError` if a
    line is not ``Key: Value``. A repeated key keeps its last value."""
    headers: Headers = {}
    for line in block.splitlines():
        key, sep, value = line.partition(":")
        if not sep or not key.strip():
            raise AmiProtocolError(f"an AMI line is not 'Key: Value': {line[:80]!r}")
        headers[key.strip()] = value.strip()
    return headers


class Unreadable:
    """A message the connection received but could not read as AMI headers."""

    def __init__(self, raw: str, reason: str) -> None:
        self.raw = raw
        self.reason = reason


class AmiStream(Protocol):
    async def send(self, headers: Headers) -> None: ...

    async def receive(self) -> Headers | Unreadable:
        """The next message; raises :class:`AmiConnectionLost` when the connection ends."""

    async def close(self) -> None: ...


class TcpAmi:
    """AMI over TCP."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, banner: str) -> None:
        self._reader = reader
        self._writer = writer
        self.banner = banner

    @classmethod
    async def open(cls, host: str, port: int) -> TcpAmi:
        reader, writer = await asyncio.open_connection(host, port, limit=MAX_LINE_BYTES)
        try:
            line = await reader.readline()
        except (OSError, ValueError) as exc:
            writer.close()
            raise AmiConnectionLost(f"no banner: {exc}") from exc
        if not line.startswith(BANNER_PREFIX):
            writer.close()
            raise AmiProtocolError(f"not an Asterisk Manager Interface: the first line is {line[:80]!r}")
        return cls(reader, writer, line.decode("utf-8", "replace").strip())

    async def send(self, headers: Headers) -> None:
        try:
            self._writer.write(encode(headers))
            await self._writer.drain()
        except OSError as exc:
            raise AmiConnectionLost(str(exc)) from exc

    async def receive(self) -> Headers | Unreadable:
        lines: list[bytes] = []
        while True:
            try:
                line = await self._reader.readline()
            except (OSError, asyncio.LimitOverrunError, ValueError) as exc:
                raise AmiConnectionLost(f"reading failed: {exc}") from exc
            if not line:
                raise AmiConnectionLost("closed by Asterisk")
            if line.strip():
                lines.append(line)
            elif lines:
                break
        raw = b"".join(lines).decode("utf-8", "replace")
        try:
            return decode(raw)
        except AmiProtocolError as exc:
            return Unreadable(raw, str(exc))

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()


class WebsocketAmi:
    """AMI through a websocket bridge: each message one JSON object of string headers."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws

    @classmethod
    async def open(cls, url: str, ping_interval: float, ping_timeout: float) -> WebsocketAmi:
        ws = await ws_connect(url, ping_interval=ping_interval, ping_timeout=ping_timeout,
                              close_timeout=min(10.0, ping_timeout), compression=None)
        return cls(ws)

    async def send(self, headers: Headers) -> None:
        try:
            await self._ws.send(orjson.dumps(headers).decode())
        except ConnectionClosed as exc:
            raise AmiConnectionLost(str(exc)) from exc

    async def receive(self) -> Headers | Unreadable:
        try:
            message = await self._ws.recv()
        except ConnectionClosed as exc:
            raise AmiConnectionLost(str(exc)) from exc
        text = message if isinstance(message, str) else message.decode("utf-8", "replace")
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return Unreadable(text, f"a bridge message is not JSON: {exc}")
        if not isinstance(value, dict) or not all(isinstance(v, str | int | float) for v in value.values()):
            return Unreadable(text, "a bridge message is not a JSON object of AMI headers (names to strings)")
        return {str(key): str(v) for key, v in value.items()}

    async def close(self) -> None:
        await self._ws.close()


async def open_stream(url: str, *, ping_interval: float, ping_timeout: float) -> AmiStream:
    parts = urlsplit(url)
    if parts.scheme == "tcp":
        return await TcpAmi.open(parts.hostname or "127.0.0.1", parts.port or DEFAULT_PORT)
    return await WebsocketAmi.open(url, ping_interval, ping_timeout)

