"""Errors the alerts raise on purpose."""

from callboard.exceptions import CallboardError, ConfigError


class AlertsError(CallboardError):
    """Base class of the alerts' errors."""


class AlertsConfigError(AlertsError, ConfigError):
    """The alert channels or the on-call rota are malformed; the message names the file, the entry and
    the key."""


class ChannelError(AlertsError):
    """A channel could not deliver a message. ``permanent`` says that sending it again cannot help
    (refused by the receiver, or a configuration fault); otherwise it is worth retrying later."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class LinkError(AlertsError):
    """An acknowledge link is malformed, forged or expired."""


class OutboxError(AlertsError):
    """The database refused or lost an outbox operation; nothing of that operation was stored."""
