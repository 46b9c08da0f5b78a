"""Errors the ingest raises on purpose."""

from callboard.exceptions import CallboardError


class IngestError(CallboardError):
    """Base class of the ingest's errors."""


class JournalInUse(IngestError):
    """Another ingest process holds this feed's journal: run one ingest per feed (or give each its own
    CALLBOARD_FEED_NAME)."""
