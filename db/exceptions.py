"""Errors raised by the database layer."""


class DatabaseError(Exception):
    """Base class of the database layer's errors."""


class QueryNotFound(DatabaseError):
    """A named query was asked for that no ``db/queries/*.sql`` file defines."""


class MigrationError(DatabaseError):
    """A migration failed; the message names the file. Nothing of that migration was applied."""


class DatabaseUnusable(DatabaseError):
    """The database answers but cannot be used until an operator acts (bad credentials, no schema);
    the message says what to do. Retrying does not help."""


class GrantError(DatabaseError):
    """The roles and privileges could not be set up; the message says what to do."""
