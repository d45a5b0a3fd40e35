"""The key ring of the data encrypted at rest (needs, internal notes, category answers).

Values are Fernet tokens (AES-128-CBC with an HMAC-SHA256, cryptography's Fernet); the column
types that read and write them are `EncryptedText` and `EncryptedJSON` (dbtypes.py), and the
walk that re-encrypts every stored value (`flask privacy rotate-key`) is privacy/rotation.py.

Keys come from `NKHR_ENCRYPTION_KEYS`: a comma-separated list of Fernet keys, the first encrypts
and every one decrypts (MultiFernet), so a key is rotated by putting a new one first and running
`flask privacy rotate-key`, which re-encrypts every value with it. Outside development the app does
not start without that setting (create_app): a key derived from SECRET_KEY would sit on the same
host as the database, beside the secret it comes from. In development a key is generated once and
kept in instance/encryption_key, and the key derived from SECRET_KEY (HKDF, its own label), which
encrypted before that file existed, stays the last decryption key, so a development database
made earlier stays readable (`rotate-key` moves it to the new key).

`python -m nkhr_events.encryption` prints a new key without starting the app.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask, current_app

#: The name the key ring is registered under in app.extensions (migrations find it by it).
EXTENSION = "nkhr_crypto"
#: Every Fernet token starts with its version byte 0x80, which base64url-encodes to "gAAAAA".
TOKEN_PREFIX = "gAAAAA"


class DecryptionError(RuntimeError):
    """A stored token that none of the configured keys opens."""


class KeyConfigurationError(ValueError):
    """NKHR_ENCRYPTION_KEYS holds something that is not a Fernet key."""


def new_key() -> str:
    """A fresh key in the form NKHR_ENCRYPTION_KEYS takes."""
    return Fernet.generate_key().decode("ascii")


def derived_key(secret_key: str | bytes) -> bytes:
    """The key that encrypted when no key was configured (development databases made before
    instance/encryption_key existed): HKDF of SECRET_KEY with its own label, so it is never the
    session-signing key itself."""
    secret = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
    material = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"nkhr_events field encryption",
        info=b"fernet key v1",
    ).derive(secret)
    return base64.urlsafe_b64encode(material)


def parse_keys(value: str | Iterable[str] | None) -> list[bytes]:
    """The configured keys, in order; raises KeyConfigurationError naming the bad entry."""
    if not value:
        return []
    items = value.split(",") if isinstance(value, str) else list(value)
    keys = []
    for position, item in enumerate((i.strip() for i in items), start=1):
        if not item:
            continue
        try:
            Fernet(item.encode("ascii"))
        except (ValueError, UnicodeEncodeError) as error:
            raise KeyConfigurationError(
                f"NKHR_ENCRYPTION_KEYS entry {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; `flask privacy new-key` prints one)"
            ) from error
        keys.append(item.encode("ascii"))
    return keys


@dataclass(frozen=True)
class FieldCipher:
    """The keys of one application: `primary` encrypts, every key decrypts."""

    fernet: MultiFernet
    explicit: bool

    @classmethod
    def from_config(cls, configured: Any, secret_key: str | bytes | None = None) -> FieldCipher:
        """The configured keys; with `secret_key`, the key derived from it decrypts too (last),
        and encrypts when no key is configured."""
        keys = parse_keys(configured)
        explicit = bool(keys)
        if secret_key is not None and (fallback := derived_key(secret_key)) not in keys:
            keys.append(fallback)
        if not keys:
            raise KeyConfigurationError("NKHR_ENCRYPTION_KEYS is not set")
        return cls(MultiFernet([Fernet(k) for k in keys]), explicit)

    def encrypt(self, text: str) -> str:
        return self.fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self.fernet.decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeEncodeError) as error:
            raise DecryptionError(
                "a stored value cannot be decrypted with the configured keys "
                "(check NKHR_ENCRYPTION_KEYS: the key that wrote it must be in the list)"
            ) from error

    def rotate(self, token: str) -> str:
        try:
            return self.fernet.rotate(token.encode("ascii")).decode("ascii")
        except (InvalidToken, UnicodeEncodeError) as error:
            raise DecryptionError("a stored value cannot be decrypted for rotation") from error


def init_app(app: Flask) -> None:
    """Build the cipher once per application; a malformed key stops the start. The key derived
    from SECRET_KEY takes part only in development (to read what it wrote there before
    instance/encryption_key existed) and in tests that configure no key at all; create_app has
    already refused to start anywhere else without NKHR_ENCRYPTION_KEYS."""
    configured = app.config.get("NKHR_ENCRYPTION_KEYS")
    with_derived = app.config.get("NKHR_ENV") == "development" or (app.testing and not configured)
    app.extensions[EXTENSION] = FieldCipher.from_config(
        configured, app.config["SECRET_KEY"] if with_derived else None
    )


def cipher() -> FieldCipher:
    return current_app.extensions[EXTENSION]


def is_token(value: str) -> bool:
    return value.startswith(TOKEN_PREFIX)


def json_text(value: Any) -> str:
    """The JSON text an `EncryptedJSON` value is encrypted as."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


if __name__ == "__main__":
    print(new_key())  # for NKHR_ENCRYPTION_KEYS, where the app cannot start without one yet
