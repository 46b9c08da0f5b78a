"""The resume point never passes an event that is not yet committed, whatever order batches commit in."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ingest.resume_point import ResumePoint


def test_batches_committing_in_order_move_the_resume_point_with_them():
    point = ResumePoint()
    first, second = point.number(), point.number()
    assert point.to_store(first, 100) == 100
    point.committed(first, 100)
    assert point.to_store(second, 250) == 250
    point.committed(second, 250)
    assert point.seq == 250


def test_a_later_batch_committing_first_does_not_pass_the_earlier_one():
    point = ResumePoint()
    earlier, later = point.number(), point.number()
    # The later batch (seqs up to 400) commits while the earlier one (up to 200) is in flight:
    # it stores nothing past what was committed before both (no seq yet).
    assert point.to_store(later, 400) is None
    point.committed(later, 400)
    assert point.seq is None
    # The earlier batch stores its own; once it has committed, both count.
    assert point.to_store(earlier, 200) == 200
    point.committed(earlier, 200)
    assert point.seq == 400


def test_batches_without_seqs_keep_the_resume_point_where_it_was():
    point = ResumePoint()
    with_seq, without = point.number(), point.number()
    point.committed(with_seq, 7)
    assert point.to_store(without, None) == 7
    point.committed(without, None)
    assert point.seq == 7


@given(st.permutations(range(8)))
def test_the_resume_point_only_covers_batches_whose_predecessors_all_committed(order):
    # Batch n holds seqs 10n+1 .. 10n+10; batches commit in any order.
    point = ResumePoint()
    numbers = [point.number() for _ in range(8)]
    committed: set[int] = set()
    for batch in order:
        stored = point.to_store(numbers[batch], 10 * batch + 10)
        committed.add(batch)
        point.committed(numbers[batch], 10 * batch + 10)
        # Whatever a commit stores, every seq up to it belongs to a committed batch.
        for seq in (stored, point.seq):
            if seq is not None:
                assert all(b in committed for b in range((seq - 1) // 10 + 1))
    assert point.seq == 80
