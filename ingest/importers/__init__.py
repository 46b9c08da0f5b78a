"""History importers: each reads one file format and yields protocol events for the writer.

A format's reader turns a file into :class:`Chunk` objects, each with the events of consecutive
lines and the lines it rejected (already :class:`~ingest.protocol.Rejected`, the reason naming
the line). ``ingest/backfill.py`` writes the chunks with the ingest's own writer.
"""

from __future__ import annotations

import dataclasses

from ingest.protocol import Event, Rejected


@dataclasses.dataclass(frozen=True, slots=True)
class Chunk:
    events: list[Event]
    rejects: list[Rejected]
    first_line: int
    last_line: int
    position: int  # bytes of the file read so far (of the compressed file, if it is compressed)
