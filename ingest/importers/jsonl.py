"""The protocol's JSON lines: one event (or one JSON array of events) per line, gzip accepted.

The format of a feed's recording and of ``callboard simulate --write``: each line is a message
as a feed would send it (docs/events.md). Blank lines are skipped; any other line that is not a
valid event becomes a dead letter whose reason starts with its line number. A compressed file cut
short or damaged is read up to there (:class:`~ingest.importers.Lines`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

from ingest.protocol import parse_message

from . import Chunk, Lines, open_history


def read_chunks(path: Path, events_per_chunk: int) -> Iterator[Chunk]:
    """The file's events and rejects, about ``events_per_chunk`` events at a time, in file order."""
    lines_file, raw = open_history(path)
    with raw, lines_file:
        events, rejects = [], []
        first, number = 1, 0
        lines = Lines(lines_file)
        for number, line in lines:
            if not line.strip():
                continue
            parsed, refused = parse_message(line.rstrip(b"\r\n"))
            events += parsed
            if refused:
                rejects += [dataclasses.replace(reject, reason=f"line {number}: {reject.reason}") for reject in refused]
            if len(events) >= events_per_chunk:
                yield Chunk(events, rejects, first, number, raw.tell())
                events, rejects, first = [], [], number + 1
        yield Chunk(events, rejects, first, number, raw.tell())
        lines.check_whole()
