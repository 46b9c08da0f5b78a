"""Errors the ingest raises on purpose."""

from callboard.exceptions import CallboardError


class IngestError(CallboardError):
    """Base class of the ingest's errors."""


class JournalInUse(IngestError):
    """Another ingest process holds this feed's journal: run one ingest per feed (or give each its own
    CALLBOARD_FEED_NAME)."""


class ImportInterrupted(IngestError):
    """The database stayed unreachable during ``callboard import``: what was stored is kept, and running the
    same import again stores the rest (each event once)."""


class ImportRefused(IngestError):
    """The database refused an event that passed the protocol's checks: the message names its lines."""


class ImportUnreadable(IngestError):
    """The history file cannot be read in its format (not one bad line), or not to its end (a compressed
    file cut short or damaged): the message says why, and up to which line it was read."""
