"""Errors raised by Callboard's shared pieces (configuration, the embedded database)."""


class CallboardError(Exception):
    """Base class of every error Callboard raises on purpose."""


class ConfigError(CallboardError):
    """A configuration value is missing or malformed; the message names the setting."""


class EmbeddedDatabaseError(CallboardError):
    """The embedded PostgreSQL server could not be started or stopped."""
