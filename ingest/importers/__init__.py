"""History importers: each reads one file format and yields protocol events for the writer.

A format's reader turns a file into :class:`Chunk` objects, each with the events of consecutive
lines, the lines it rejected (already :class:`~ingest.protocol.Rejected`, the reason naming the
line) and how many lines it skipped on purpose. ``ingest/backfill.py`` writes the chunks with the
ingest's own writer.
"""

from __future__ import annotations

import dataclasses
import gzip
from pathlib import Path
from typing import BinaryIO

from ingest.protocol import Event, Rejected

GZIP_MAGIC = b"\x1f\x8b"
FORMATS = ("jsonl", "queue_log")  # the modules beside this one


@dataclasses.dataclass(frozen=True, slots=True)
class Chunk:
    events: list[Event]
    rejects: list[Rejected]
    first_line: int
    last_line: int
    position: int  # bytes of the file read so far (of the compressed file, if it is compressed)
    skipped: int = 0  # lines that carry nothing for the floor, left out on purpose (not blank ones)


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
