"""The on-disk journal, on real files."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest import journal as journal_module
from ingest.exceptions import JournalInUse
from ingest.journal import Journal, read_segment

T0 = datetime(2026, 11, 23, 9, 0, 0, 123456, tzinfo=UTC)


async def drain(journal: Journal) -> list[tuple[datetime, str | bytes]]:
    messages = []
    while (taken := await journal.take()) is not None:
        path, batch = taken
        messages.extend(batch)
        journal.release(path)
    return messages


async def test_messages_come_back_in_order_with_their_receipt_times(tmp_path):
    journal = Journal(tmp_path, max_bytes=2**20)
    sent = [(T0 + timedelta(seconds=n), f'{{"id": "e{n}", "caller": "张伟"}}') for n in range(5)]
    sent.append((T0, b"\xff\xfe not UTF-8"))  # a binary frame is kept as bytes, to be judged later
    for received_at, message in sent:
        assert journal.append(message, received_at)
    assert journal.pending
    assert await drain(journal) == sent
    assert not journal.pending and journal.size == 0
    assert list(tmp_path.iterdir()) == []


async def test_segments_roll_over_and_are_taken_oldest_first(tmp_path, monkeypatch):
    monkeypatch.setattr(journal_module, "SEGMENT_BYTES", 100)
    journal = Journal(tmp_path, max_bytes=2**20)
    for n in range(10):
        journal.append(f"message {n:02d} " + "x" * 40, T0)
    assert len(list(tmp_path.iterdir())) == 5  # records are 68 bytes: a segment closes after its second
    await journal.sync()
    path, first = await journal.take()
    assert [message[:10] for _, message in first] == ["message 00", "message 01"]
    journal.append("after the first take", T0)  # goes to a newer segment than any taken
    journal.release(path)
    assert [message[:10] for _, message in await drain(journal)][-3:] == ["message 08", "message 09", "after the "]


async def test_full_segments_are_synced_to_disk_and_read_back_off_the_event_loop(tmp_path, monkeypatch):
    """The ingest's writers go on committing while a segment is synced or read: both happen in a thread."""
    monkeypatch.setattr(journal_module, "SEGMENT_BYTES", 100)
    threads = {}

    def recorded(name, work):
        def in_which_thread(*args):
            threads.setdefault(name, set()).add(threading.current_thread())
            return work(*args)
        return in_which_thread

    monkeypatch.setattr(journal_module.os, "fsync", recorded("sync", os.fsync))
    monkeypatch.setattr(journal_module, "read_segment", recorded("read", journal_module.read_segment))
    journal = Journal(tmp_path, max_bytes=2**20)
    for n in range(3):
        journal.append(f"message {n:02d} " + "x" * 40, T0)  # the second fills the first segment
    assert journal.unsynced
    await journal.sync()
    assert not journal.unsynced
    assert [message[:10] for _, message in await drain(journal)] == ["message 00", "message 01", "message 02"]
    assert threads.keys() == {"sync", "read"}
    assert threading.main_thread() not in threads["sync"] | threads["read"]


async def test_a_full_journal_refuses_messages_and_writes_nothing(tmp_path):
    journal = Journal(tmp_path, max_bytes=100)
    assert journal.append("x" * 60, T0)
    assert not journal.append("y" * 60, T0)
    assert [message for _, message in await drain(journal)] == ["x" * 60]


def killed_after_appending(directory: Path, message: str) -> None:
    """An ingest process that appends ``message`` and dies without closing its journal."""
    script = ("import os, sys; from datetime import datetime; from pathlib import Path; "
              "from ingest.journal import Journal; "
              "Journal(Path(sys.argv[1]), 2**20).append(sys.argv[2], datetime.fromisoformat(sys.argv[3])); "
              "os._exit(9)")
    died = subprocess.run([sys.executable, "-c", script, str(directory), message, T0.isoformat()], check=False)
    assert died.returncode == 9


async def test_segments_left_by_an_earlier_run_are_read_first(tmp_path):
    killed_after_appending(tmp_path, "from the run that was killed")
    # The next run finds the segment (and the lock gone with the process) and continues after it.
    later = Journal(tmp_path, max_bytes=2**20)
    assert later.pending
    later.append("from the new run", T0)
    assert [message for _, message in await drain(later)] == ["from the run that was killed", "from the new run"]


def closed_segment(directory, *messages: str):
    journal = Journal(directory, max_bytes=2**20)
    for message in messages:
        journal.append(message, T0)
    journal.close()
    (segment,) = directory.iterdir()
    return segment


def test_a_record_torn_by_a_crash_is_dropped_and_the_rest_kept(tmp_path):
    segment = closed_segment(tmp_path, "whole", "torn in half by a kill")
    segment.write_bytes(segment.read_bytes()[:-7])
    assert [message for _, message in read_segment(segment)] == ["whole"]


def test_a_corrupted_record_ends_the_segment_there(tmp_path):
    segment = closed_segment(tmp_path, "first", "second")
    data = bytearray(segment.read_bytes())
    data[-1] ^= 0xFF  # flipped bits in the last payload: its checksum no longer matches
    segment.write_bytes(bytes(data))
    assert [message for _, message in read_segment(segment)] == ["first"]


def test_a_second_ingest_for_the_same_feed_is_refused_until_the_first_closes_its_journal(tmp_path):
    first = Journal(tmp_path, max_bytes=2**20)
    with pytest.raises(JournalInUse, match="in use by another ingest"):
        Journal(tmp_path, max_bytes=2**20)
    first.close()
    Journal(tmp_path, max_bytes=2**20).close()
