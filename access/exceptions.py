"""Errors raised by sign-in and by the commands that manage users, displays and tokens."""

from callboard.exceptions import CallboardError


class AccessError(CallboardError):
    """Base class of the access package's errors; the message says what to do."""


class AccountError(AccessError):
    """A user, display or token cannot be added, changed or removed as asked (unknown, taken, bad role)."""


class SignInRefused(AccessError):
    """The user name or the password is wrong; the message does not say which."""


class TooManyFailures(AccessError):
    """Too many failed sign-ins for this user name or from this address: wait, then try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
