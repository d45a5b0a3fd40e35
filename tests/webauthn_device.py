"""A software passkey for tests: makes and uses an ECDSA P-256 credential the way a device
does (WebAuthn level 2: "none" attestation, authenticator data, client data JSON), so that the
server's real verification (py_webauthn) checks real signatures."""

from __future__ import annotations

import hashlib
import json
import os
import struct
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

_FLAG_USER_PRESENT = 0x01
_FLAG_USER_VERIFIED = 0x04
_FLAG_ATTESTED = 0x40


class SoftPasskey:
    """One credential on one device; `sign_count` goes up with each use unless `counter` is
    False (as synced passkeys do, which report 0)."""

    def __init__(self, counter: bool = True) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.counter = counter
        self.sign_count = 0

    def _cose_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps({
            1: 2, 3: -7, -1: 1,
            -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big"),
        })

    def _auth_data(self, rp_id: str, flags: int, attested: bytes = b"") -> bytes:
        if self.counter:
            self.sign_count += 1
        return (hashlib.sha256(rp_id.encode()).digest() + bytes([flags])
                + struct.pack(">I", self.sign_count if self.counter else 0) + attested)

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps({"type": kind, "challenge": challenge, "origin": origin,
                           "crossOrigin": False}).encode()

    def create(self, options: dict[str, Any], origin: str, rp_id: str | None = None
               ) -> dict[str, Any]:
        """The browser's answer to registration options, as the page's script sends it."""
        rp_id = rp_id or options["rp"]["id"]
        attested = (bytes(16) + struct.pack(">H", len(self.credential_id))
                    + self.credential_id + self._cose_key())
        auth_data = self._auth_data(
            rp_id, _FLAG_USER_PRESENT | _FLAG_USER_VERIFIED | _FLAG_ATTESTED, attested)
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        raw_id = bytes_to_base64url(self.credential_id)
        return {
            "id": raw_id, "rawId": raw_id, "type": "public-key",
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "attestationObject": bytes_to_base64url(attestation),
                         "transports": ["internal"]},
            "clientExtensionResults": {},
        }

    def get(self, options: dict[str, Any], origin: str, rp_id: str | None = None
            ) -> dict[str, Any]:
        """The browser's answer to authentication options (this credential must be allowed)."""
        allowed = [base64url_to_bytes(c["id"]) for c in options.get("allowCredentials", [])]
        assert self.credential_id in allowed, "the server did not offer this passkey"
        auth_data = self._auth_data(rp_id or options["rpId"],
                                    _FLAG_USER_PRESENT | _FLAG_USER_VERIFIED)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = self.key.sign(auth_data + hashlib.sha256(client_data).digest(),
                                  ec.ECDSA(hashes.SHA256()))
        raw_id = bytes_to_base64url(self.credential_id)
        return {
            "id": raw_id, "rawId": raw_id, "type": "public-key",
            "response": {"clientDataJSON": bytes_to_base64url(client_data),
                         "authenticatorData": bytes_to_base64url(auth_data),
                         "signature": bytes_to_base64url(signature), "userHandle": None},
            "clientExtensionResults": {},
        }
