"""Errors of the Genesys Cloud source."""

from ingest.exceptions import IngestError


class GenesysError(IngestError):
    """Genesys Cloud refused a request or could not be reached; the source reconnects and tries again."""


class Untranslatable(GenesysError):
    """A notification from Genesys Cloud that cannot be made into protocol events; it is dead-lettered
    with this message as the reason."""
