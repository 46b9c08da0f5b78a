"""The on-disk journal: where received messages wait while the database cannot take them.

The ingest keeps a bounded queue of messages in memory. When it is full (the database is down
or slow) further messages are appended here instead, and written to the database once it is
back, oldest first. A record is on disk (handed to the operating system) before the feed's next
message is read, so killing the ingest loses nothing that reached the journal; a record leaves
the journal only after the transaction holding its events has committed.

Records go into numbered segment files. The segment being appended to is closed before it is
read, so the reader never sees a half-written record of its own process; a record torn by a
crash (the last one of a segment) is recognised by its length and checksum and skipped.

What may block for long happens off the event loop, in a thread (``asyncio.to_thread``), so that the
ingest's writers go on committing meanwhile: syncing a full segment to the disk (``sync``, awaited
before the feed's next message is read) and reading a segment back (``take``). Appending a record
is one small write to the operating system's cache, and stays on the loop.

One process at a time: the journal holds an exclusive lock on its directory while open, so a second
ingest started for the same feed stops at once instead of interleaving segments with the first.

Record layout: payload length (4 bytes), CRC-32 of the rest (4), receipt time in microseconds
since the Unix epoch (8), whether the payload is text (1), the payload itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import logging
import os
import struct
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from .exceptions import JournalInUse

logger = logging.getLogger(__name__)

_HEADER = struct.Struct(">IIqB")
_LENGTH_AND_CHECKSUM = struct.Struct(">II")
_STAMP = struct.Struct(">qB")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
SUFFIX = ".journal"
# A segment is closed and a new one started once it holds this much.
SEGMENT_BYTES = 8 * 2**20

Message = str | bytes


class Journal:
    """Segments of received messages in ``directory``, at most ``max_bytes`` in all."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        directory.mkdir(parents=True, exist_ok=True)
        self._lock_fd = _lock(directory)
        # Segments left by an earlier run are read first.
        self._closed = sorted(path for path in directory.glob(f"*{SUFFIX}") if path.stem.isdigit())
        self._size = sum(path.stat().st_size for path in self._closed)
        self._next_number = int(self._closed[-1].stem) + 1 if self._closed else 1
        self._active: Path | None = None
        self._active_fd: int | None = None
        self._active_bytes = 0
        self._unsynced: list[int] = []  # descriptors of full segments, to sync to the disk and close
        self._taken: set[Path] = set()
        self._disk_failed = False  # reported once per spell
        if self._closed:
            logger.warning("journal holds messages from an earlier run; writing them to the database first",
                           extra={"action": "journal_found", "directory": str(directory), "bytes": self._size})

    @property
    def pending(self) -> bool:
        """Whether any message is on disk and not yet released."""
        return bool(self._closed or self._active_bytes or self._taken)

    @property
    def size(self) -> int:
        return self._size

    @property
    def unsynced(self) -> bool:
        """Whether a segment filled by ``append`` waits for ``sync``."""
        return bool(self._unsynced)

    def append(self, message: Message, received_at: datetime) -> bool:
        """Write one message; False (nothing written) when the journal is full. A segment it fills
        waits for ``sync``."""
        is_text = isinstance(message, str)
        payload = message.encode() if is_text else message
        rest = _STAMP.pack((received_at - _EPOCH) // _MICROSECOND, is_text) + payload
        record = _LENGTH_AND_CHECKSUM.pack(len(payload), zlib.crc32(rest)) + rest
        if self._size + len(record) > self.max_bytes:
            return False
        try:
            if self._active_fd is None:
                self._active = self.directory / f"{self._next_number:012d}{SUFFIX}"
                self._next_number += 1
                self._active_fd = os.open(self._active, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
            if os.write(self._active_fd, record) != len(record):
                raise OSError(errno.ENOSPC, "short write")
        except OSError as exc:
            self._give_up_active(exc)
            return False
        self._active_bytes += len(record)
        self._size += len(record)
        if self._active_bytes >= SEGMENT_BYTES:
            self._unsynced.append(self._retire_active())
        return True

    async def sync(self) -> None:
        """Sync the segments ``append`` filled to the disk, and close them; in a thread."""
        descriptors, self._unsynced = self._unsynced, []
        await asyncio.to_thread(_sync_and_close, descriptors)

    async def take(self) -> tuple[Path, list[tuple[datetime, Message]]] | None:
        """The oldest segment's messages, to be released once they are committed; None if empty.
        The segment is read (and the one being appended to, if taken, synced) in a thread."""
        if not self._closed and self._active_bytes:
            await asyncio.to_thread(_sync_and_close, [self._retire_active()])
        if not self._closed:
            return None
        path = self._closed.pop(0)
        self._taken.add(path)
        return path, await asyncio.to_thread(read_segment, path)

    def release(self, path: Path) -> None:
        """The messages of ``path`` are in the database: forget them."""
        self._size -= path.stat().st_size
        path.unlink()
        self._taken.discard(path)
        self._disk_failed = False

    def close(self) -> None:
        if self._active_fd is not None:
            self._unsynced.append(self._retire_active())
        descriptors, self._unsynced = self._unsynced, []
        _sync_and_close(descriptors)
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the lock
            self._lock_fd = None

    def _give_up_active(self, exc: OSError) -> None:
        """A write failed (the disk is full, most likely): drop any part of the record it wrote and
        close the segment, so the records before it stay readable and later ones start a new one."""
        if not self._disk_failed:
            self._disk_failed = True
            logger.error("the journal's disk refused a write (full?); treating the journal as full until "
                         "it is written to the database", extra={"action": "journal_disk_failed",
                                                                 "directory": str(self.directory),
                                                                 "error": str(exc)})
        fd, path, kept = self._active_fd, self._active, self._active_bytes
        self._active, self._active_fd, self._active_bytes = None, None, 0
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, kept)
            os.fsync(fd)
        os.close(fd)
        if kept:
            self._closed.append(path)
        else:
            with contextlib.suppress(OSError):
                path.unlink()

    def _retire_active(self) -> int:
        """Stop appending to the active segment: it joins the segments to be read (or is deleted,
        if empty). Its descriptor, still open, for the caller to sync and close."""
        fd = self._active_fd
        if self._active_bytes:
            self._closed.append(self._active)
        else:
            self._active.unlink()
        self._active, self._active_fd, self._active_bytes = None, None, 0
        return fd


def _sync_and_close(descriptors: list[int]) -> None:
    for fd in descriptors:
        os.fsync(fd)
        os.close(fd)


def _lock(directory: Path) -> int:
    """Hold an exclusive lock on ``directory`` (the kernel drops it when the process ends, however)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise JournalInUse(f"the journal {directory} is in use by another ingest process; run one ingest "
                           "per feed, or give each its own CALLBOARD_FEED_NAME") from None
    return fd


def read_segment(path: Path) -> list[tuple[datetime, Message]]:
    """The whole records of one segment file, in order, each with its receipt time."""
    data = path.read_bytes()
    messages, offset = [], 0
    while offset < len(data):
        if offset + _HEADER.size > len(data):
            break
        length, checksum, received_us, is_text = _HEADER.unpack_from(data, offset)
        end = offset + _HEADER.size + length
        if end > len(data) or zlib.crc32(data[offset + _LENGTH_AND_CHECKSUM.size:end]) != checksum:
            break
        payload = data[offset + _HEADER.size:end]
        message = payload.decode() if is_text else payload
        messages.append((_EPOCH + received_us * _MICROSECOND, message))
        offset = end
    if offset < len(data):
        logger.warning("journal segment ends in a torn record (the ingest stopped mid-write); its messages "
                       "before it are kept, the torn one is not (the feed resends it after the last stored seq)",
                       extra={"action": "journal_torn_record", "segment": path.name, "kept": len(messages),
                              "torn_bytes": len(data) - offset})
    return messages
