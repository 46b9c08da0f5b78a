"""History importers: each reads one file format and yields protocol events for the writer.

A format's reader turns a file into :class:`Chunk` objects, each with the events of consecutive
lines, the lines it rejected (already :class:`~ingest.protocol.Rejected`, the reason naming the
line) and how many lines it skipped on purpose. ``ingest/backfill.py`` writes the chunks with the
ingest's own writer.
"""

from __future__ import annotations

import dataclasses
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from ingest.exceptions import ImportUnreadable
from ingest.protocol import Event, Rejected

GZIP_MAGIC = b"\x1f\x8b"
FORMATS = ("jsonl", "queue_log")  # the modules beside this one
# What reading a file that is not whole raises (a gzip cut short or damaged: gzip.BadGzipFile is an OSError).
UNREADABLE = (EOFError, OSError, zlib.error)


@dataclasses.dataclass(frozen=True, slots=True)
class Chunk:
    events: list[Event]
    rejects: list[Rejected]
    first_line: int
    last_line: int
    position: int  # bytes of the file read so far (of the compressed file, if it is compressed)
    skipped: int = 0  # lines that carry nothing for the floor, left out on purpose (not blank ones)


class Lines:
    """A history file's lines, numbered from 1, up to where the file can be read: a compressed file
    cut short or damaged ends there, and :meth:`check_whole` says so once its lines are used."""

    def __init__(self, lines_file: BinaryIO) -> None:
        self._file = lines_file
        self._read = 0
        self._error: Exception | None = None

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        try:
            for line in self._file:
                self._read += 1
                yield self._read, line
        except UNREADABLE as exc:
            self._error = exc

    def check_whole(self) -> None:
        """Raise :class:`ImportUnreadable`, naming the last line read, when the file ended unreadable."""
        if self._error is None:
            return
        if not self._read:
            raise ImportUnreadable(f"the file cannot be read ({self._error}); is it whole?") from self._error
        raise ImportUnreadable(f"the file cannot be read after line {self._read:,} ({self._error}); the events up to "
                               "that line are stored: import a whole copy of the file, and each event is stored "
                               "once") from self._error


def open_history(path: Path) -> tuple[BinaryIO, BinaryIO]:
    """(the lines to read, the raw file whose position tells the progress); gzip is recognised by content."""
    raw = path.open("rb")
    if raw.peek(2)[:2] == GZIP_MAGIC:
        return gzip.GzipFile(fileobj=raw, mode="rb"), raw
    return raw, raw


def first_line(path: Path) -> bytes:
    """The file's first line that is not blank (b"" if none), read through gzip if compressed."""
    lines_file, raw = open_history(path)
    with raw, lines_file:
        for line in lines_file:
            if line.strip():
                return line.strip()
    return b""
