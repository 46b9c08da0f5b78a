"""Errors of the Asterisk AMI source."""

from ingest.exceptions import IngestError


class AmiError(IngestError):
    """Base class of the AMI source's errors."""


class AmiConnectionLost(AmiError):
    """The connection to the Asterisk Manager Interface ended; the source reconnects."""


class AmiProtocolError(AmiError):
    """Asterisk (or the bridge) sent something that is not AMI; the source reconnects."""


class AmiActionRefused(AmiProtocolError):
    """Asterisk refused an action, most often for want of permission in manager.conf."""


class AmiLoginRefused(AmiError):
    """Asterisk refused the login: check CALLBOARD_AMI_USERNAME and CALLBOARD_AMI_SECRET and the user's
    read permissions in manager.conf (it needs at least call and agent). The source keeps retrying."""


class AmiEventUnusable(AmiError):
    """An AMI event Callboard reads lacks what it needs (a header, or a value it knows); it is
    dead-lettered with this message as its reason."""
