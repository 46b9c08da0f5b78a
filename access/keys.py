"""Secrets handed out and how they are kept: random keys stored as their sha256, passwords as argon2id."""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults (RFC 9106's low-memory profile): about 50 ms per check on a server.
_HASHER = PasswordHasher()
# A hash checked when the user name is unknown, so that a wrong name takes as long as a wrong password.
_NOBODY = _HASHER.hash(secrets.token_urlsafe(16))


def new_key() -> str:
    """A fresh random key for a cookie, a URL or a bearer token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def digest(key: str) -> bytes:
    """What the database keeps of a key: its sha256 (the key itself has 256 random bits)."""
    return hashlib.sha256(key.encode()).digest()


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` is the one ``stored_hash`` was made from (None: an unknown user, always False)."""
    try:
        return _HASHER.verify(stored_hash or _NOBODY, password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than today's (then it is made again at sign-in)."""
    return _HASHER.check_needs_rehash(stored_hash)
