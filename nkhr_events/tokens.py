"""Secret link tokens: random, 256 bits, and kept in the database only as a SHA-256."""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> str:
    """A fresh URL-safe token (32 random bytes)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored and looked up instead of the token itself."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
