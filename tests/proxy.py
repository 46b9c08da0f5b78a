"""A loopback TCP proxy whose connections a test can cut, stall or reset, as a flaky network would."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct


class CuttableProxy:
    """Listens on a loopback TCP port and relays each connection to a TCP or Unix-socket target.

    ``cut`` closes every open connection, ``reset`` sends RSTs, ``stall`` stops relaying on them
    without closing anything (a half-open connection, as when a cable is pulled); connections made
    afterwards are relayed as usual.
    """

    def __init__(self, target_host: str, target_port: int | None = None, *, unix_path: str | None = None) -> None:
        self._target = (target_host, target_port)
        self._unix_path = unix_path
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._pumps: set[asyncio.Task] = set()
        self._stalled: list[asyncio.StreamWriter] = []
        self.connections = 0

    async def start(self) -> int:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        return self._server.sockets[0].getsockname()[1]

    def cut(self) -> None:
        """Drop every open connection at once (both directions, no goodbye)."""
        for writer in list(self._writers):
            writer.transport.abort()

    def reset(self) -> None:
        """Reset every open connection: its peers get an RST, as from a restarted firewall."""
        for writer in list(self._writers):
            sock = writer.get_extra_info("socket")
            if sock is not None and sock.family != socket.AF_UNIX:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.transport.abort()

    def stall(self) -> None:
        """Stop relaying on every open connection, leaving both ends open and waiting (no FIN, no RST)."""
        for pump in list(self._pumps):
            pump.cancel()
        self._stalled.extend(self._writers)
        self._writers.clear()

    async def close(self) -> None:
        self.cut()
        for writer in self._stalled:
            writer.transport.abort()
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _relay(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            if self._unix_path is not None:
                upstream_reader, upstream_writer = await asyncio.open_unix_connection(self._unix_path)
            else:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        pair = {client_writer, upstream_writer}
        self._writers |= pair
        pumps = {asyncio.create_task(_pump(client_reader, upstream_writer)),
                 asyncio.create_task(_pump(upstream_reader, client_writer))}
        self._pumps |= pumps
        try:
            await asyncio.gather(*pumps)
        except asyncio.CancelledError:
            return  # stalled: the sockets stay open, relaying nothing
        finally:
            self._pumps -= pumps
        for writer in pair:
            self._writers.discard(writer)
            writer.transport.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()
