"""Where the feed may resume after, when batches commit out of order.

Two transactions are in flight at once, so a later batch can commit before an earlier one. The
sequence number stored with a commit must never pass an event that is not yet committed: a
restart resumes after it, and anything before it that was only in memory would be lost. So a
batch's events count towards the resume point only once every earlier batch has committed.
"""

from __future__ import annotations


class ResumePoint:
    def __init__(self) -> None:
        self.seq: int | None = None  # every event up to here, from the batches numbered so far, is stored
        self._numbered = 0
        self._committed_through = 0  # batches numbered below this have all committed
        self._committed_early: dict[int, int | None] = {}

    def number(self) -> int:
        """A number for the next batch, in the order the batches were received."""
        self._numbered += 1
        return self._numbered - 1

    def to_store(self, batch: int, batch_seq: int | None) -> int | None:
        """The resume point for ``batch``'s transaction to store, ``batch_seq`` being its highest seq."""
        if batch == self._committed_through:  # every earlier batch is in: so is this one, if it commits
            return highest_seq(self.seq, batch_seq)
        return self.seq

    def committed(self, batch: int, batch_seq: int | None) -> None:
        self._committed_early[batch] = batch_seq
        while self._committed_through in self._committed_early:
            self.seq = highest_seq(self.seq, self._committed_early.pop(self._committed_through))
            self._committed_through += 1


def highest_seq(a: int | None, b: int | None) -> int | None:
    """The higher of two seqs, either of which may be missing."""
    return b if a is None else a if b is None else max(a, b)
